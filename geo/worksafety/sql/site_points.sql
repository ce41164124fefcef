-- A site's points with their thresholds, for display and checks.
SELECT p.id, p.n, p.item, p.quantity, p.name, p.unit, p.direction, p.mn, p.factor,
       coalesce(jsonb_object_agg(t.level, t.value) FILTER (WHERE t.level IS NOT NULL), '{}')
         AS thresholds
FROM ws_point p LEFT JOIN ws_threshold t ON t.point_id = p.id
WHERE p.site_id = %(site_id)s
GROUP BY p.id ORDER BY p.item, p.id;
