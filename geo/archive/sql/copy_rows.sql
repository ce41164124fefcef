COPY village_rain_annual_max
    (source, village_code, duration_h, year, max_mm, ends_at, hours, complete)
FROM STDIN
