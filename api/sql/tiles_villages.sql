-- Vector tile layer "villages": outline (pre-simplified for the zoom band, 0019_tiles), code,
-- name, township, the risk level (1 low … 4 very high) per hazard, the highest of them, and the
-- colour of the highest issued warning covering the village (absent when none).
WITH env AS (
    SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS box,
           ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => %(margin)s) AS wide
), warned AS (
    SELECT c AS code,
           max(array_position(ARRAY['blue', 'yellow', 'orange', 'red'], w.colour)) AS rank
    FROM warning w CROSS JOIN LATERAL unnest(w.village_codes) c
    WHERE w.status = 'issued'
    GROUP BY c
), features AS MATERIALIZED (  -- each outline clipped once, not again in the filter
    SELECT t.code, v.name, tw.name AS township, r.flash_flood, r.geohazard, r.forest_fire,
           greatest(r.flash_flood, r.geohazard, r.forest_fire) AS risk,
           (ARRAY['blue', 'yellow', 'orange', 'red'])[wd.rank] AS warning,
           ST_AsMVTGeom(t.geom, env.box, %(extent)s, %(buffer)s, true) AS geom
    FROM env
    JOIN tile_admin_unit t ON t.band = tile_band(%(z)s) AND t.geom && env.wide
    JOIN admin_unit v ON v.code = t.code
    LEFT JOIN admin_unit tw ON tw.code = v.parent_code
    LEFT JOIN LATERAL (
        SELECT max(k.risk_level) FILTER (WHERE k.hazard = 'flash_flood') AS flash_flood,
               max(k.risk_level) FILTER (WHERE k.hazard = 'geohazard') AS geohazard,
               max(k.risk_level) FILTER (WHERE k.hazard = 'forest_fire') AS forest_fire
        FROM village_risk k WHERE k.village_code = t.code
    ) r ON true
    LEFT JOIN warned wd ON wd.code = t.code
    WHERE t.level = 'village'
)
SELECT ST_AsMVT(f, 'villages', %(extent)s, 'geom' ORDER BY f.code) AS tile  -- stable bytes, stable ETag
FROM features f WHERE f.geom IS NOT NULL;
