-- Village outlines (WGS 84) that touch an archive grid's footprint (WKB, EPSG:4326), by code.
SELECT a.code, ST_AsBinary(a.geom)
FROM admin_unit a
WHERE a.level = 'village'
  AND a.geom && ST_GeomFromWKB(%(footprint)s, 4326)
  AND ST_Intersects(a.geom, ST_GeomFromWKB(%(footprint)s, 4326))
ORDER BY a.code;
