-- The monitoring points of a county's sites, with their thresholds as {level: value}.
SELECT p.id, s.kind AS site_kind, p.item, p.direction,
       coalesce((SELECT jsonb_object_agg(t.level, t.value) FROM ws_threshold t
                 WHERE t.point_id = p.id), '{}'::jsonb) AS thresholds
FROM ws_point p
JOIN hazardous_site s ON s.id = p.site_id
WHERE s.admin_code LIKE %(county)s || '%%'
ORDER BY p.id;
