-- New readings of every point: after the point's last processed reading, up to %(until)s.
-- %(since)s (the earliest position of any point) lets the planner skip older partitions.
SELECT r.point_n, extract(epoch FROM r.tm)::float8 AS t, r.value, r.flag
FROM ws_reading r
JOIN ws_point p ON p.n = r.point_n
LEFT JOIN ws_alarm_state s ON s.point_id = p.id
WHERE r.tm > %(since)s
  AND r.tm <= %(until)s
  AND r.tm > coalesce(s.last_tm, '-infinity'::timestamptz)
ORDER BY r.point_n, r.tm
