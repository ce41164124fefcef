-- Whom to call: village cadres, disaster information officers and grid officers of the affected
-- villages; monitors and responsible persons of the hazard points; safety contacts of the sites.
SELECT d.role, p.name, p.phone, p.org, p.title,
       coalesce(d.admin_code, d.hazard_point_id, d.site_id) AS concerns,
       CASE WHEN d.admin_code IS NOT NULL THEN 'village'
            WHEN d.hazard_point_id IS NOT NULL THEN 'hazard_point' ELSE 'hazardous_site' END
           AS concerns_kind
FROM duty d JOIN person p ON p.id = d.person_id
WHERE (d.admin_code = ANY(%(codes)s)
       AND d.role IN ('village_cadre', 'disaster_info_officer', 'grid_officer'))
   OR (d.hazard_point_id = ANY(%(points)s) AND d.role IN ('hazard_monitor', 'hazard_responsible'))
   OR (d.site_id = ANY(%(sites)s) AND d.role = 'site_safety')
ORDER BY concerns_kind DESC, concerns, d.role, p.name, p.phone;
