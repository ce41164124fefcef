-- A site's points with their thresholds, and their valid readings (flag N) in [%(start)s,
-- %(end)s) as arrays in time order (one row per point).
SELECT p.id, p.name, p.item, p.unit, p.direction,
       coalesce((SELECT jsonb_object_agg(t.level, t.value) FROM ws_threshold t
                 WHERE t.point_id = p.id), '{}'::jsonb) AS thresholds,
       coalesce(r.v, '{}') AS v
FROM ws_point p
LEFT JOIN LATERAL (
    SELECT array_agg(x.value ORDER BY x.tm) AS v
    FROM ws_reading x
    WHERE x.point_n = p.n AND x.flag = 'N' AND x.tm >= %(start)s AND x.tm < %(end)s
) r ON true
WHERE p.site_id = %(site)s
ORDER BY p.item, p.id;
