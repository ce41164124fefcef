-- One product's rain per village over (at - h, at] for every h in hours (no fallback), as
-- arrays per window like rain_windows.sql, with the coverage (qpe counts only where > 0).
SELECT window_hours, array_agg(village_code), array_agg(rain_mm), array_agg(coverage)
FROM village_rain_windows_of(%(product)s, %(at)s, %(hours)s::integer[])
GROUP BY window_hours
