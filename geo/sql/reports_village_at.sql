-- The village containing a point (boundary points go to the lowest code), for field reports.
SELECT code, name FROM village
WHERE ST_Covers(geom, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326))
ORDER BY code LIMIT 1;
