-- The time slider's steps: one grid per period end, the one the rain tiles draw for
-- ?period=<valid_end> (tiles_rain_grid.sql: latest issue, then the shortest period), in time
-- order. Analyses (qpe): the periods ending in the 24 hours up to the latest one, i.e. in
-- (latest − 24 h, latest]. Forecasts (qpf): every period of the latest issue.
WITH latest AS (
    SELECT max(valid_end) AS valid_end, max(issued_at) AS issued_at
    FROM grid_file WHERE product = %(product)s
)
SELECT DISTINCT ON (f.valid_end)
       f.product, f.valid_start, f.valid_end, f.issued_at, f.max_mm
FROM grid_file f CROSS JOIN latest l
WHERE f.product = %(product)s
  AND CASE WHEN f.product = 'qpf' THEN f.issued_at = l.issued_at
           ELSE f.valid_end > l.valid_end - interval '24 hours' END
ORDER BY f.valid_end, f.issued_at DESC, f.valid_end - f.valid_start;
