-- Every village, ordered by code (the engine's array order: byte order, as numpy compares), with
-- its county's name, as one row of arrays (few Python objects at 500,000 villages), and the
-- villages' version token read in the same snapshot (migration 0022). The arrays follow the
-- sorted subquery (fetch_villages checks the order).
SELECT (SELECT token FROM village_version),
       coalesce(array_agg(s.code), '{}'), coalesce(array_agg(s.name), '{}'),
       coalesce(array_agg(s.county), '{}')
FROM (
    SELECT v.code, v.name, coalesce(c.name, v.county_code) AS county
    FROM village v LEFT JOIN admin_unit c ON c.code = v.county_code
    ORDER BY v.code COLLATE "C"
) s
