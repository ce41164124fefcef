-- The version's villages with their township, in the version's order, to say where in an SMS.
SELECT v.name AS village, t.name AS township
FROM unnest(%(villages)s::text[]) WITH ORDINALITY AS c (code, n)
JOIN admin_unit v ON v.code = c.code
JOIN admin_unit t ON t.code = v.parent_code
ORDER BY c.n;
