-- Observed rain of the day per township: each village's total over [%(d1)s - 24 h, %(d1)s)
-- as the rules read it (village_rain_windows: gridded analyses, rain gauges where grids do not
-- cover a village), then the township's village count, mean and maximum and the wettest village.
WITH v AS (
    SELECT r.village_code, r.rain_mm, r.source
    FROM village_rain_windows(%(d1)s::timestamptz, ARRAY[24]) r
    WHERE (%(area)s::text IS NULL OR r.village_code LIKE %(area)s || '%%')
)
SELECT t.code AS township_code, t.name AS township_name,
       count(*)::int AS villages, avg(v.rain_mm) AS mean_mm, max(v.rain_mm) AS max_mm,
       (array_agg(vil.name ORDER BY v.rain_mm DESC, vil.code))[1] AS wettest_village,
       count(*) FILTER (WHERE v.rain_mm >= 50)::int AS villages_50mm,
       count(*) FILTER (WHERE v.rain_mm >= 100)::int AS villages_100mm
FROM v
JOIN admin_unit vil ON vil.code = v.village_code
JOIN admin_unit t ON t.code = vil.parent_code
GROUP BY t.code, t.name
ORDER BY max(v.rain_mm) DESC, t.code;
