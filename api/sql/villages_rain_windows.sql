-- Accumulated observed rain over the last h hours up to %(to)s for each h in %(hours)s, with
-- the rules' semantics (0012/0017 village_rain_sums_exact): gridded analyses with some coverage
-- win, rain gauges otherwise.
WITH w AS (
    SELECT h, %(to)s::timestamptz - make_interval(hours => h) AS f
    FROM unnest(%(hours)s::integer[]) AS h
),
starts AS (SELECT array_agg(f) AS fs FROM w),
q AS (
    SELECT x.* FROM starts, village_rain_sums_exact(%(code)s, 'qpe', %(to)s, starts.fs, NULL) x
),
g AS (
    SELECT x.* FROM starts, village_rain_sums_exact(%(code)s, 'gauge', %(to)s, starts.fs, NULL) x
)
SELECT w.h AS hours, w.f AS from_ts,
       CASE WHEN q.cov_s > 0 THEN 'qpe' WHEN g.from_ts IS NOT NULL THEN 'gauge' END AS source,
       CASE WHEN q.cov_s > 0 THEN q.rain_mm ELSE g.rain_mm END AS rain_mm,
       CASE WHEN q.cov_s > 0 THEN q.max_mm ELSE g.max_mm END AS max_mm,
       CASE WHEN q.cov_s > 0 THEN least(1.0, q.cov_s / (w.h * 3600.0))
            WHEN g.from_ts IS NOT NULL THEN least(1.0, g.cov_s / (w.h * 3600.0)) END AS coverage
FROM w
LEFT JOIN q ON q.from_ts = w.f
LEFT JOIN g ON g.from_ts = w.f
ORDER BY w.h;
