-- Schools, clinics and other places where vulnerable people gather in the village.
SELECT id, kind, name, occupants, ST_X(geom) AS lon, ST_Y(geom) AS lat
FROM facility WHERE village_code = %(code)s ORDER BY kind, name;
