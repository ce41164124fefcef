-- Vector tile layer "shelters": emergency shelters (避难场所) with kind, capacity and occupancy.
WITH env AS (
    SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS box,
           ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => %(margin)s), 4326) AS wide
), features AS MATERIALIZED (
    SELECT s.id, s.name, s.kind, s.capacity, s.occupancy, s.admin_code,
           ST_AsMVTGeom(ST_Transform(s.geom, 3857), env.box, %(extent)s, %(buffer)s, true)
               AS geom
    FROM env JOIN shelter s ON s.geom && env.wide
)
SELECT ST_AsMVT(f, 'shelters', %(extent)s, 'geom' ORDER BY f.id) AS tile  -- stable bytes, stable ETag
FROM features f WHERE f.geom IS NOT NULL;
