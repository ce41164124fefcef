-- Villages whose outline overlaps a warning polygon (when the caller gives only the polygon).
SELECT code FROM village
WHERE ST_Intersects(geom, ST_GeomFromWKB(%(area)s, 4326))
  AND NOT ST_Touches(geom, ST_GeomFromWKB(%(area)s, 4326))
ORDER BY code;
