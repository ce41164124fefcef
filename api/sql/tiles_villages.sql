-- Vector tile layer "villages": outline, code, name, township, the risk level (1 low … 4 very
-- high) per hazard, the highest of them, and the colour of the highest issued warning covering
-- the village as published (absent when none). Outlines come pre-cut for this tile (tile_cut, 0024) at zooms
-- 4–14 and are clipped here from the band's pre-simplified outline (0019) otherwise;
-- both give the same bytes.
-- area: the caller's area prefix (api/areas.py; NULL = all): its features only.
-- Batched (api/tiles/batch.py): one statement renders every tile of the parameter arrays zs, xs,
-- ys (cuts: pre-cut outlines wanted), one row (i, tile) per tile in their order, so tiles that
-- wait together cost one round trip.
SELECT q.i, t.tile
FROM unnest(%(zs)s::integer[], %(xs)s::integer[], %(ys)s::integer[], %(cuts)s::boolean[])
     WITH ORDINALITY AS q (z, x, y, cut, i)
CROSS JOIN LATERAL (
    WITH env AS (
        SELECT ST_TileEnvelope(q.z, q.x, q.y) AS box,
               ST_TileEnvelope(q.z, q.x, q.y, margin => %(margin)s) AS wide
    ), warned AS (  -- the published versions' colours and villages, not a pending draft's
        SELECT c AS code,
               max(array_position(ARRAY['blue', 'yellow', 'orange', 'red'], v.colour)) AS rank
        FROM warning w
        JOIN warning_version v ON v.warning_id = w.id AND v.version = w.published_version
        CROSS JOIN LATERAL unnest(v.village_codes) c
        WHERE w.status = 'issued' AND w.expires_at > now()  -- in force: ends by the clock too
        GROUP BY c
    ), shapes AS MATERIALIZED (  -- each live outline clipped once, not in the filter too
        SELECT c.code, c.name, c.township, c.geom
        FROM tile_cut c
        WHERE q.cut AND c.z = q.z AND c.x = q.x AND c.y = q.y AND c.level = 'village'
        UNION ALL
        SELECT t.code, v.name, tw.name,
               ST_AsMVTGeom(t.geom, env.box, %(extent)s, %(buffer)s, true)
        FROM env
        JOIN tile_admin_unit t ON t.band = tile_band(q.z) AND t.geom && env.wide
        JOIN admin_unit v ON v.code = t.code
        LEFT JOIN admin_unit tw ON tw.code = v.parent_code
        WHERE NOT q.cut AND t.level = 'village'
    ), features AS (
        SELECT s.code, s.name, s.township, r.flash_flood, r.geohazard, r.forest_fire,
               greatest(r.flash_flood, r.geohazard, r.forest_fire) AS risk,
               (ARRAY['blue', 'yellow', 'orange', 'red'])[wd.rank] AS warning,
               s.geom
        FROM shapes s
        LEFT JOIN LATERAL (
            SELECT max(k.risk_level) FILTER (WHERE k.hazard = 'flash_flood') AS flash_flood,
                   max(k.risk_level) FILTER (WHERE k.hazard = 'geohazard') AS geohazard,
                   max(k.risk_level) FILTER (WHERE k.hazard = 'forest_fire') AS forest_fire
            FROM village_risk k WHERE k.village_code = s.code
        ) r ON true
        LEFT JOIN warned wd ON wd.code = s.code
        WHERE s.geom IS NOT NULL
    )
    SELECT ST_AsMVT(f, 'villages', %(extent)s, 'geom' ORDER BY f.code) AS tile
    FROM features f  -- ORDER BY: stable bytes, stable ETag
    WHERE (%(area)s::text IS NULL OR f.code LIKE %(area)s || '%%')
) t
ORDER BY q.i;
