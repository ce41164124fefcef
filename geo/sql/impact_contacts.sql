-- Whom to call: village cadres, disaster information officers and grid officers of the affected
-- villages; monitors and responsible persons of the hazard points; the 三个责任人 of the given
-- reservoirs (%(reservoirs)s, station codes); safety contacts of the sites. The caller orders
-- them by the hazard (who is called first).
SELECT d.role, p.name, p.phone, p.org, p.title,
       coalesce(d.admin_code, d.hazard_point_id, d.site_id, d.stcd) AS concerns,
       CASE WHEN d.admin_code IS NOT NULL THEN 'village'
            WHEN d.hazard_point_id IS NOT NULL THEN 'hazard_point'
            WHEN d.stcd IS NOT NULL THEN 'reservoir' ELSE 'hazardous_site' END AS concerns_kind,
       coalesce(v.name, h.name, st.stnm, hs.name) AS concerns_name
FROM duty d
JOIN person p ON p.id = d.person_id
LEFT JOIN village v ON v.code = d.admin_code
LEFT JOIN hazard_point h ON h.id = d.hazard_point_id
LEFT JOIN station st ON st.stcd = d.stcd
LEFT JOIN hazardous_site hs ON hs.id = d.site_id
WHERE (d.admin_code = ANY(%(codes)s)
       AND d.role IN ('village_cadre', 'disaster_info_officer', 'grid_officer'))
   OR (d.hazard_point_id = ANY(%(points)s) AND d.role IN ('hazard_monitor', 'hazard_responsible'))
   OR (d.stcd = ANY(%(reservoirs)s)
       AND d.role IN ('reservoir_administrative', 'reservoir_technical', 'reservoir_patrol'))
   OR (d.site_id = ANY(%(sites)s) AND d.role = 'site_safety')
ORDER BY concerns_kind DESC, concerns, d.role, p.name, p.phone;
