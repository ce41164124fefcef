-- The affected villages with their township and exposure figures.
SELECT v.code, v.name, v.township_code, t.name AS township_name,
       coalesce(v.population, 0) AS population, coalesce(v.households, 0) AS households,
       v.schools, v.clinics
FROM village v LEFT JOIN admin_unit t ON t.code = v.township_code
WHERE v.code = ANY(%(codes)s)
ORDER BY v.code;
