-- When the rule last fired for each village of a warning's area, and the numbers it found then;
-- a village with no record (a warning from before migration 0026) counts as fired when the
-- warning was first fired.
SELECT c.code, coalesce(f.last_fired_at, w.first_fired_at) AS last_fired_at,
       coalesce(f.numbers, '{}'::jsonb) AS numbers
FROM warning w
CROSS JOIN LATERAL unnest(w.village_codes) AS c(code)
LEFT JOIN warning_village f ON f.warning_id = w.id AND f.village_code = c.code
WHERE w.id = %(id)s
ORDER BY c.code;
