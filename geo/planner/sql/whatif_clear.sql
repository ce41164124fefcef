-- Dry run: the hypothetical villages' observed rain overlapping the hypothetical hours goes
-- (rolled back with the dry run's transaction).
DELETE FROM village_rain_row
WHERE product = 'qpe' AND village_code = ANY(%(codes)s::text[])
  AND valid_end > %(first)s AND valid_start < %(at)s
