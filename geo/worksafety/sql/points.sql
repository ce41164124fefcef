-- The monitoring points the alarm engine runs, with their site's name and thresholds.
SELECT p.id, p.n, p.site_id, p.item, p.quantity, p.name, p.unit, p.direction,
       p.phys_min, p.phys_max, p.max_jump, h.name AS site_name,
       (SELECT jsonb_object_agg(t.level, t.value) FROM ws_threshold t WHERE t.point_id = p.id)
           AS thresholds
FROM ws_point p
JOIN hazardous_site h ON h.id = p.site_id
ORDER BY p.n
