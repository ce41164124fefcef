-- The rainfall grid to draw: the latest period of `product` ending at or before `at` (NULL: the
-- latest of all). When several end together: the latest issue first (a newer forecast replaces
-- an older one; analyses are issued when they end, so for them this changes nothing), then the
-- shortest period. tiles_rain_periods.sql lists, for the time slider, exactly the grids this
-- picks for `at` = each listed valid_end; the two ORDER BYs must agree.
SELECT f.id, f.path, f.variable, f.step, f.to_mm, f.product, f.valid_start, f.valid_end,
       f.issued_at, f.max_mm, d.crs, d.transform, d.width, d.height,
       ST_XMin(d.footprint) AS west, ST_YMin(d.footprint) AS south,
       ST_XMax(d.footprint) AS east, ST_YMax(d.footprint) AS north
FROM grid_file f JOIN grid_definition d ON d.id = f.grid_definition
WHERE f.product = %(product)s AND (%(at)s::timestamptz IS NULL OR f.valid_end <= %(at)s)
ORDER BY f.valid_end DESC, f.issued_at DESC, f.valid_end - f.valid_start
LIMIT 1;
