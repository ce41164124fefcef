-- Hazardous sites inside or within %(radius_m)s m of the affected area (the cascade), with
-- their safety contact.
WITH area AS (SELECT ST_GeomFromWKB(%(area)s, 4326) AS g)
SELECT s.id, s.name, s.kind, s.operator, s.admin_code,
       ST_Distance(s.geom::geography, area.g::geography) / 1000.0 AS distance_km,
       p.name AS contact_name, p.phone AS contact_phone
FROM hazardous_site s CROSS JOIN area LEFT JOIN person p ON p.id = s.safety_contact_id
WHERE ST_DWithin(s.geom::geography, area.g::geography, %(radius_m)s)
ORDER BY distance_km, s.id;
