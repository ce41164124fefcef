-- Monitored sites with their configuration, and the open counting threshold alarms of their
-- points (an alarm the engine merged into an event: not one suppressed by maintenance, nor
-- a flapping point's lowest-grade noise), with the previous grade.
SELECT w.site_id, s.kind, s.name AS site_name, w.config,
       g.level AS previous_level, g.since AS previous_since,
       coalesce((
           SELECT jsonb_agg(jsonb_build_object(
                      'point_id', a.point_id, 'level', a.level, 'value', a.value,
                      'opened_at', a.opened_at, 'name', p.name, 'unit', p.unit,
                      'item', p.item)
                  ORDER BY a.opened_at)
           FROM ws_alarm a
           JOIN ws_point p ON p.id = a.point_id
           WHERE p.site_id = w.site_id AND a.kind = 'threshold' AND a.cleared_at IS NULL
             AND a.event_id IS NOT NULL
       ), '[]'::jsonb) AS alarms
FROM ws_site w
JOIN hazardous_site s ON s.id = w.site_id
LEFT JOIN ws_site_grade g ON g.site_id = w.site_id
ORDER BY w.site_id;
