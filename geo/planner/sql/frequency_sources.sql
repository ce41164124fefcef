-- Archive sources with annual maxima, and whether frequencies were computed for them.
SELECT m.source, count(DISTINCT m.village_code) AS villages, min(m.year) AS first_year,
       max(m.year) AS last_year,
       (SELECT max(f.computed_at) FROM village_rain_frequency f WHERE f.source = m.source)
           AS computed_at
FROM village_rain_annual_max m
GROUP BY m.source
ORDER BY m.source;
