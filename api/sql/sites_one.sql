-- One hazardous site with its monitoring settings and contacts (安全负责人, 设备运维).
SELECT s.id, s.name, s.kind, s.operator, s.admin_code, v.name AS village_name, s.details,
       (w.site_id IS NOT NULL) AS monitored, w.supervising_section, w.auto_issue,
       sc.name AS safety_contact_name, sc.phone AS safety_contact_phone,
       mc.name AS maintenance_contact_name, mc.phone AS maintenance_contact_phone,
       g.level AS grade_level, g.reason AS grade_reason, g.since AS grade_since,
       g.items AS grade_items, g.updated_at AS graded_at,
       ST_X(ST_PointOnSurface(s.geom)) AS lon, ST_Y(ST_PointOnSurface(s.geom)) AS lat
FROM hazardous_site s
LEFT JOIN ws_site w ON w.site_id = s.id
LEFT JOIN admin_unit v ON v.code = s.admin_code
LEFT JOIN person sc ON sc.id = s.safety_contact_id
LEFT JOIN person mc ON mc.id = w.maintenance_contact
LEFT JOIN ws_site_grade g ON g.site_id = s.id
WHERE s.id = %(id)s;
