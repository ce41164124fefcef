-- A period's array row (if it is stored as one) with the village order of its arrays.
SELECT g.id, g.source_ref, s.codes, g.mean_mm, g.max_mm, g.coverage
FROM village_rain_grid g
JOIN village_set s ON s.id = g.village_set
WHERE g.product = %(product)s AND g.valid_start = %(valid_start)s
  AND g.valid_end = %(valid_end)s AND g.issued_at = %(issued_at)s
FOR UPDATE OF g;
