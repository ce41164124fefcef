-- Every village, ordered by code (the engine's array order), with its county's name.
SELECT v.code, v.name, coalesce(c.name, v.county_code) AS county
FROM village v LEFT JOIN admin_unit c ON c.code = v.county_code
ORDER BY v.code
