-- Villages as their representative points (label_point: ST_PointOnSurface, always inside the
-- outline), the point the service measures evacuation distances from (geo/evacuation.py), with
-- the figures a people-to-move count needs. %(county)s (GB/T 2260, NULL = every county).
SELECT v.code, v.name, v.township_code, t.name AS township_name, v.county_code AS county,
       coalesce(v.population, 0) AS population, coalesce(v.households, 0) AS households,
       v.danger_zone_population, ST_AsBinary(v.label_point) AS wkb
FROM village v
LEFT JOIN admin_unit t ON t.code = v.township_code
WHERE %(county)s::text IS NULL OR v.county_code = %(county)s::text
ORDER BY v.code;
