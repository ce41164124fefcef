-- Counties that have villages loaded (or the ones asked for), sorted.
SELECT c.code
FROM admin_unit c
WHERE c.level = 'county'
  AND (%(counties)s::text[] IS NULL OR c.code = ANY (%(counties)s::text[]))
  AND EXISTS (SELECT 1 FROM admin_unit v WHERE v.level = 'village' AND left(v.code, 6) = c.code)
ORDER BY c.code;
