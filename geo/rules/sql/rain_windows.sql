-- Observed rain per village over (at - h, at] for every h in hours, in one pass: one row per
-- window with the villages' codes and rain as arrays (few Python objects for 100,000s of rows).
SELECT window_hours, array_agg(village_code), array_agg(rain_mm)
FROM village_rain_windows(%(at)s, %(hours)s::integer[])
GROUP BY window_hours
