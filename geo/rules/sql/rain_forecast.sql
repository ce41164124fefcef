-- Forecast rain per village over [at, at + hours] from the latest QPF run issued by `at` that
-- still reaches past it (a run from after `at` is never used: replays see what was known). The
-- run is looked up in the two tables behind the village_rain view (migration 0022), not in the
-- view, which would unnest every forecast grid to find it.
WITH run AS (
    SELECT max(issued_at) AS issued
    FROM (SELECT r.issued_at FROM village_rain_row r
          WHERE r.product = 'qpf' AND r.issued_at <= %(at)s AND r.valid_end > %(at)s
          UNION ALL
          SELECT g.issued_at FROM village_rain_grid g
          WHERE g.product = 'qpf' AND g.issued_at <= %(at)s AND g.valid_end > %(at)s) x
)
SELECT f.village_code, f.rain_mm
FROM run CROSS JOIN LATERAL village_rain_forecast(
    run.issued, %(at)s, %(at)s + make_interval(hours => %(hours)s)) f
WHERE run.issued IS NOT NULL
