-- Vector tile layer "hazard-points": geohazard points (隐患点) with kind, scale and the people
-- they threaten. Searched in EPSG:4326 through the geometry index (the envelope's box in degrees
-- covers the Mercator envelope exactly).
WITH env AS (
    SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS box,
           ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => %(margin)s), 4326) AS wide
), features AS MATERIALIZED (
    SELECT h.id, h.name, h.kind, h.scale, h.threatened_people, h.village_code,
           ST_AsMVTGeom(ST_Transform(h.geom, 3857), env.box, %(extent)s, %(buffer)s, true)
               AS geom
    FROM env JOIN hazard_point h ON h.geom && env.wide
)
SELECT ST_AsMVT(f, 'hazard-points', %(extent)s, 'geom' ORDER BY f.id) AS tile  -- stable bytes, stable ETag
FROM features f WHERE f.geom IS NOT NULL;
