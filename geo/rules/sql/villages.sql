-- Every village, ordered by code (the engine's array order: byte order, as numpy compares), with
-- its county's name, as one row of arrays (few Python objects at 500,000 villages), and the
-- villages' version tokens read in the same snapshot (migrations 0022 and 0055: together they
-- change whenever a code, name or county changes). The arrays follow the sorted subquery
-- (fetch_villages checks the order).
SELECT (SELECT token || '/' || names_token FROM village_version),
       coalesce(array_agg(s.code), '{}'), coalesce(array_agg(s.name), '{}'),
       coalesce(array_agg(s.county), '{}')
FROM (
    SELECT v.code, v.name, coalesce(c.name, v.county_code) AS county
    FROM village v LEFT JOIN admin_unit c ON c.code = v.county_code
    ORDER BY v.code COLLATE "C"
) s
