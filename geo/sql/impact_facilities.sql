-- Schools, clinics and other gathering places in the affected villages.
SELECT f.id, f.kind, f.name, f.village_code, f.occupants, ST_X(f.geom) AS lon, ST_Y(f.geom) AS lat
FROM facility f
WHERE f.village_code = ANY(%(codes)s)
ORDER BY f.kind, f.id;
