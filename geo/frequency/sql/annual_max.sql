-- The archive's yearly maxima of one source (village_rain_annual_max), every year, complete or not.
SELECT village_code, duration_h, year, max_mm, complete
FROM village_rain_annual_max
WHERE source = %(source)s
ORDER BY village_code, duration_h, year;
