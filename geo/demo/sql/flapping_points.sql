-- Points of a county's sites whose alarms the engine marked as flapping (频繁波动): how many
-- such alarms, and how many of them reached an event (were counted).
SELECT s.name AS site_name, p.name AS point_name, count(*) AS alarms,
       count(*) FILTER (WHERE a.event_id IS NOT NULL) AS counted
FROM ws_alarm a
JOIN ws_point p ON p.id = a.point_id
JOIN hazardous_site s ON s.id = p.site_id
WHERE a.flapping AND s.admin_code LIKE %(county)s || '%%'
GROUP BY s.name, p.name
ORDER BY s.name, p.name;
