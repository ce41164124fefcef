-- Vector tile layer "stations": rain, river and reservoir stations (SL 323 ST_STBPRP_B) with
-- code, name, type and river.
WITH env AS (
    SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS box,
           ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => %(margin)s), 4326) AS wide
), features AS MATERIALIZED (
    SELECT s.stcd, s.stnm, s.sttp, s.rvnm,
           ST_AsMVTGeom(ST_Transform(s.geom, 3857), env.box, %(extent)s, %(buffer)s, true)
               AS geom
    FROM env JOIN station s ON s.geom && env.wide
)
SELECT ST_AsMVT(f, 'stations', %(extent)s, 'geom' ORDER BY f.stcd) AS tile  -- stable bytes, stable ETag
FROM features f WHERE f.geom IS NOT NULL;
