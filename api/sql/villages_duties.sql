-- Responsible persons of the village (cadres, grid officers, information officers) and of the
-- hazard points and shelters in it, with the duty each holds.
SELECT d.role, p.name, p.phone, p.org, p.title,
       coalesce(d.admin_code, d.hazard_point_id, d.shelter_id) AS concerns,
       CASE WHEN d.admin_code IS NOT NULL THEN 'village'
            WHEN d.hazard_point_id IS NOT NULL THEN 'hazard_point'
            ELSE 'shelter' END AS concerns_kind
FROM duty d JOIN person p ON p.id = d.person_id
WHERE d.admin_code = %(code)s
   OR d.hazard_point_id IN (SELECT id FROM hazard_point WHERE village_code = %(code)s)
   OR d.shelter_id IN (SELECT id FROM shelter WHERE admin_code = %(code)s)
ORDER BY concerns_kind DESC, d.role, p.name;
