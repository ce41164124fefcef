-- Villages with their township and exposure figures. %(county)s (GB/T 2260, NULL = every county).
SELECT v.code, v.name, v.township_code, t.name AS township_name, v.county_code AS county,
       v.population, v.households, v.area_km2, ST_AsBinary(v.geom) AS wkb
FROM village v
LEFT JOIN admin_unit t ON t.code = v.township_code
WHERE %(county)s::text IS NULL OR v.county_code = %(county)s::text
ORDER BY v.code;
