-- Observed rain per village over (at - hours, at].
SELECT village_code, rain_mm FROM village_rain_window(%(at)s, %(hours)s)
