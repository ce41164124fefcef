-- Village rows of a period for villages whose values are about to be recomputed.
DELETE FROM village_rain_row
WHERE product = %(product)s AND valid_start = %(valid_start)s AND valid_end = %(valid_end)s
  AND issued_at = %(issued_at)s AND village_code = ANY(%(codes)s::text[]);
