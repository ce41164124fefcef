-- A site's monitoring points with their thresholds and newest reading (any flag: the page
-- shows a stopped or faulty device as such).
SELECT p.id, p.item, p.quantity, p.name, p.unit, p.direction, p.phys_min, p.phys_max,
       p.mn, p.factor,
       coalesce((SELECT jsonb_object_agg(t.level, t.value) FROM ws_threshold t
                 WHERE t.point_id = p.id), '{}'::jsonb) AS thresholds,
       r.tm AS latest_at, r.value AS latest_value, r.flag AS latest_flag,
       ST_X(p.geom) AS lon, ST_Y(p.geom) AS lat
FROM ws_point p
LEFT JOIN LATERAL (
    SELECT tm, value, flag FROM ws_reading
    WHERE point_n = p.n AND tm <= now()
    ORDER BY tm DESC LIMIT 1
) r ON true
WHERE p.site_id = %(id)s
ORDER BY p.item, p.id;
