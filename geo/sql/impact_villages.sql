-- The affected villages with their township, people and facilities. Schools, kindergartens and
-- clinics are counted from the facility table, the same rows the summary lists, so every figure
-- keeps schools and kindergartens apart (village.schools of a register may count both).
-- danger_zone_population is the flash-flood survey's 危险区人口 (NULL when unknown); lon/lat is the
-- village's representative point (label_point: ST_PointOnSurface, always inside the outline).
SELECT v.code, v.name, v.township_code, t.name AS township_name,
       coalesce(v.population, 0) AS population, coalesce(v.households, 0) AS households,
       v.danger_zone_population,
       count(f.id) FILTER (WHERE f.kind = 'school') AS schools,
       count(f.id) FILTER (WHERE f.kind = 'kindergarten') AS kindergartens,
       count(f.id) FILTER (WHERE f.kind = 'clinic') AS clinics,
       ST_X(v.label_point) AS lon, ST_Y(v.label_point) AS lat
FROM village v
LEFT JOIN admin_unit t ON t.code = v.township_code
LEFT JOIN facility f ON f.village_code = v.code
WHERE v.code = ANY(%(codes)s)
GROUP BY v.code, v.name, v.township_code, t.name, v.population, v.households,
         v.danger_zone_population, v.label_point
ORDER BY v.code;
