-- The alarms of a site's points opened in [%(start)s, %(end)s), and the events begun in it.
SELECT a.point_id, a.kind, a.fault_kind, a.max_level, a.flapping, a.suppressed,
       (a.event_id IS NOT NULL) AS counted
FROM ws_alarm a
JOIN ws_point p ON p.id = a.point_id
WHERE p.site_id = %(site)s AND a.opened_at >= %(start)s AND a.opened_at < %(end)s;
