-- The catalogued rain grid of %(product)s ending at or before %(at)s (NULL: the latest); ties:
-- the latest issue, then the shortest period (as the map's rain tiles pick it).
SELECT f.id, f.path, f.variable, f.step, f.to_mm, f.units, f.product, f.valid_start,
       f.valid_end, f.issued_at, d.crs, d.transform, d.width, d.height
FROM grid_file f JOIN grid_definition d ON d.id = f.grid_definition
WHERE f.product = %(product)s AND (%(at)s::timestamptz IS NULL OR f.valid_end <= %(at)s)
ORDER BY f.valid_end DESC, f.issued_at DESC, f.valid_end - f.valid_start
LIMIT 1;
