-- Annual maxima from the archive (village_rain_annual_max), every year, complete or not.
SELECT m.source, m.village_code, m.duration_h, m.year, m.max_mm, m.ends_at, m.hours, m.complete
FROM village_rain_annual_max m
WHERE (%(source)s::text IS NULL OR m.source = %(source)s::text)
  AND (%(codes)s::text[] IS NULL OR m.village_code = ANY(%(codes)s::text[]))
ORDER BY m.source, m.village_code, m.duration_h, m.year;
