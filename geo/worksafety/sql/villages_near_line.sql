-- Villages within %(buffer_m)s metres of a path (WKT, lon/lat): the candidates the Python side
-- measures along the path and against the crest.
SELECT v.code, v.name, ST_AsBinary(v.geom) AS wkb
FROM admin_unit v
WHERE v.level = 'village' AND v.geom IS NOT NULL
  AND ST_DWithin(v.geom::geography, ST_GeomFromText(%(wkt)s, 4326)::geography, %(buffer_m)s)
ORDER BY v.code;
