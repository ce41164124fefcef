-- Hazardous sites (危险源) in the caller's area (%(area)s prefix, NULL: everything), with their
-- monitoring: points, the newest reading, the highest threshold level the points' newest
-- valid readings (flag N, within %(fresh_s)s seconds of now) have reached (%(levels)s lists
-- the threshold levels lowest first), and the site's grade from its open alarms (the alarm
-- cycle's, GB 39496 §5.5.4).
WITH latest AS (
    SELECT p.id AS point_id, p.site_id, p.direction, r.tm, r.value
    FROM ws_point p
    CROSS JOIN LATERAL (
        SELECT tm, value FROM ws_reading
        WHERE point_n = p.n AND flag = 'N' AND tm <= now()
        ORDER BY tm DESC LIMIT 1
    ) r
), reached AS (
    SELECT l.site_id, max(array_position(%(levels)s::text[], t.level)) AS rank
    FROM latest l
    JOIN ws_threshold t ON t.point_id = l.point_id
    WHERE l.tm > now() - make_interval(secs => %(fresh_s)s)
      AND CASE l.direction WHEN 'above' THEN l.value >= t.value ELSE l.value <= t.value END
    GROUP BY l.site_id
)
SELECT s.id, s.name, s.kind, s.operator, s.admin_code, v.name AS village_name,
       s.details, w.supervising_section,
       (w.site_id IS NOT NULL) AS monitored,
       (SELECT count(*) FROM ws_point p WHERE p.site_id = s.id) AS points,
       (SELECT max(l.tm) FROM latest l WHERE l.site_id = s.id) AS latest_at,
       (%(levels)s::text[])[r.rank] AS level_now,
       g.level AS grade_level, g.reason AS grade_reason, g.since AS grade_since,
       ST_X(ST_PointOnSurface(s.geom)) AS lon, ST_Y(ST_PointOnSurface(s.geom)) AS lat
FROM hazardous_site s
LEFT JOIN ws_site w ON w.site_id = s.id
LEFT JOIN admin_unit v ON v.code = s.admin_code
LEFT JOIN reached r ON r.site_id = s.id
LEFT JOIN ws_site_grade g ON g.site_id = s.id
WHERE (%(area)s::text IS NULL OR s.admin_code LIKE %(area)s::text || '%%')
  AND (%(kind)s::text IS NULL OR s.kind = %(kind)s::text)
ORDER BY s.kind, s.id;
