-- A period's array row rewritten in another village order (a reload changed the villages).
UPDATE village_rain_grid
SET village_set = %(village_set)s, mean_mm = %(mean)b, max_mm = %(max)b, coverage = %(coverage)b
WHERE id = %(id)s;
