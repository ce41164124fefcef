-- A site with its monitoring settings and county, for an alarm.
SELECT s.id, s.name, s.kind, s.admin_code, s.safety_contact_id, s.details,
       w.site_id IS NOT NULL AS monitored, w.supervising_section, w.maintenance_contact,
       coalesce(w.auto_issue, false) AS auto_issue,
       c.code AS county_code, c.name AS county_name
FROM hazardous_site s
LEFT JOIN ws_site w ON w.site_id = s.id
LEFT JOIN admin_unit c ON c.code = left(s.admin_code, 6) AND c.level = 'county'
WHERE s.id = %(site_id)s;
