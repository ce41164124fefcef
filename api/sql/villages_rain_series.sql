-- Observed rain of one village per step in [from, to]: gridded analyses (qpe) and rain gauges
-- (gauge) apart. Each period counts with its latest issue and only periods of the product's
-- shortest length are summed (rolling 3 h sums next to hourly ones would count rain twice); a
-- period counts in the step it lies wholly inside.
WITH latest AS (
    SELECT DISTINCT ON (r.product, r.valid_start, r.valid_end)
           r.product, r.valid_start, r.valid_end, r.mean_mm, r.max_mm, r.coverage
    FROM village_rain_of(%(code)s, %(from)s, %(to)s) r  -- one village by index
    WHERE r.product IN ('qpe', 'gauge')
    ORDER BY r.product, r.valid_start, r.valid_end, r.issued_at DESC
),
finest AS (
    SELECT l.* FROM latest l
    WHERE l.valid_end - l.valid_start = (SELECT min(x.valid_end - x.valid_start) FROM latest x
                                         WHERE x.product = l.product)
),
steps AS (
    SELECT e - %(step)s::interval AS step_start, e AS step_end
    FROM generate_series(%(from)s::timestamptz + %(step)s::interval, %(to)s::timestamptz,
                         %(step)s::interval) AS e
)
SELECT s.step_start, s.step_end,
       sum(f.mean_mm) FILTER (WHERE f.product = 'qpe') AS qpe_mm,
       max(f.max_mm) FILTER (WHERE f.product = 'qpe') AS qpe_max_mm,
       avg(f.coverage) FILTER (WHERE f.product = 'qpe') AS qpe_coverage,
       sum(f.mean_mm) FILTER (WHERE f.product = 'gauge') AS gauge_mm
FROM steps s
LEFT JOIN finest f ON f.valid_start >= s.step_start AND f.valid_end <= s.step_end
GROUP BY s.step_start, s.step_end
ORDER BY s.step_start;
