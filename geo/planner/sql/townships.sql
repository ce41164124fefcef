-- Townships with their villages' totals (a township's own figures when it has them).
-- %(county)s (GB/T 2260, NULL = every county).
SELECT t.code, t.name, t.gb2260 AS county,
       coalesce(t.population, v.population) AS population,
       coalesce(t.households, v.households) AS households,
       t.area_km2, coalesce(v.villages, 0) AS villages, ST_AsBinary(t.geom) AS wkb
FROM admin_unit t
LEFT JOIN LATERAL (
    SELECT count(*) AS villages, sum(c.population)::bigint AS population,
           sum(c.households)::bigint AS households
    FROM admin_unit c WHERE c.parent_code = t.code AND c.level = 'village'
) v ON true
WHERE t.level = 'township' AND (%(county)s::text IS NULL OR t.gb2260 = %(county)s::text)
ORDER BY t.code;
