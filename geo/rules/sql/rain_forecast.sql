-- Forecast rain per village over [at, at + hours] from the latest QPF run issued by `at` that
-- still reaches past it (a run from after `at` is never used: replays see what was known).
WITH run AS (
    SELECT max(issued_at) AS issued FROM village_rain
    WHERE product = 'qpf' AND issued_at <= %(at)s AND valid_end > %(at)s
)
SELECT f.village_code, f.rain_mm
FROM run CROSS JOIN LATERAL village_rain_forecast(
    run.issued, %(at)s, %(at)s + make_interval(hours => %(hours)s)) f
WHERE run.issued IS NOT NULL
