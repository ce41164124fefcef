-- Dry run (planner.whatif): turn the observed-rain grid rows overlapping the hypothetical hours
-- into village rows (migration 0022) so that the hypothetical values can replace them village by
-- village. Only ever run inside the dry run's transaction, which is rolled back.
SELECT count(village_rain_explode(g.product, g.valid_start, g.valid_end, g.issued_at))
FROM village_rain_grid g
WHERE g.product = 'qpe' AND g.valid_end > %(first)s AND g.valid_start < %(at)s
