-- The townships of a county with the names of their villages under warnings of the plan's
-- hazards in force at %(at)s (none: an empty array), in code order.
WITH warned AS (
    SELECT DISTINCT village_code FROM warned_villages_at(%(at)s)
    WHERE hazard = ANY (%(hazards)s::text[]) AND left(village_code, 6) = %(county)s
)
SELECT t.code, t.name,
       coalesce(array_agg(v.name ORDER BY v.code) FILTER (WHERE v.code IS NOT NULL), '{}')
           AS villages
FROM admin_unit t
LEFT JOIN admin_unit v ON v.parent_code = t.code AND v.code IN (SELECT village_code FROM warned)
WHERE t.level = 'township' AND left(t.code, 6) = %(county)s
GROUP BY t.code, t.name
ORDER BY t.code;
