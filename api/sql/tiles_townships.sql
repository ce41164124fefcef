-- Vector tile layer "townships": outline (pre-simplified for the zoom band, 0019_tiles), code,
-- name and kind.
WITH env AS (
    SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS box,
           ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => %(margin)s) AS wide
), features AS MATERIALIZED (
    SELECT t.code, a.name, a.kind,
           ST_AsMVTGeom(t.geom, env.box, %(extent)s, %(buffer)s, true) AS geom
    FROM env
    JOIN tile_admin_unit t ON t.band = tile_band(%(z)s) AND t.geom && env.wide
    JOIN admin_unit a ON a.code = t.code
    WHERE t.level = 'township'
)
SELECT ST_AsMVT(f, 'townships', %(extent)s, 'geom' ORDER BY f.code) AS tile  -- stable bytes, stable ETag
FROM features f WHERE f.geom IS NOT NULL;
