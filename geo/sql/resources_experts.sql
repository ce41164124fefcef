-- The expert pool (专家库) with the admin unit each expert serves and its label point (experts
-- have no location of their own). %(specialties)s NULL = any; %(county)s NULL = every county,
-- else a county code or an area's code prefix (a city's 4 digits).
SELECT e.person_id AS id, p.name, e.specialty, e.employer, p.title, p.phone,
       u.code AS serves_code, u.name AS serves_name, u.level AS serves_level,
       ST_X(u.label_point) AS lon, ST_Y(u.label_point) AS lat
FROM expert e
JOIN person p ON p.id = e.person_id
LEFT JOIN admin_unit u ON u.code = p.admin_code
WHERE (%(specialties)s::text[] IS NULL OR e.specialty = ANY(%(specialties)s::text[]))
  AND (%(county)s::text IS NULL OR u.gb2260 LIKE %(county)s || '%%')
ORDER BY e.specialty, e.person_id;
