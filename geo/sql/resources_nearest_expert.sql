-- Experts (专家库) of the given specialties (NULL = any), nearest first. An expert has no location
-- of their own, only the admin unit they serve (person.admin_code): the distance is geodesic to
-- that unit's area (0 when the point or area lies in it, as for every county expert inside the
-- county), and the point returned is the unit's label point, not a workplace. Experts without an
-- admin unit cannot be placed and are left out.
WITH area AS (SELECT ST_GeomFromWKB(%(area)s, 4326) AS g)
SELECT e.person_id AS id, p.name, e.specialty, e.employer, p.title, p.phone,
       u.code AS serves_code, u.name AS serves_name, u.level AS serves_level,
       ST_Distance(u.geom::geography, area.g::geography) AS distance_m,
       ST_X(u.label_point) AS lon, ST_Y(u.label_point) AS lat
FROM expert e
JOIN person p ON p.id = e.person_id
JOIN admin_unit u ON u.code = p.admin_code
CROSS JOIN area
WHERE (%(specialties)s::text[] IS NULL OR e.specialty = ANY(%(specialties)s::text[]))
  AND (%(area_prefix)s::text IS NULL OR u.code LIKE %(area_prefix)s || '%%')  -- an area of responsibility
ORDER BY distance_m, e.person_id
LIMIT %(k)s;
