-- New readings of every point: after the point's last processed reading, up to %(until)s,
-- as one row per point with its readings in time order (arrays: few rows to convert).
-- %(since)s (the earliest position of any point) lets the planner skip older partitions.
SELECT r.point_n,
       array_agg(extract(epoch FROM r.tm)::float8 ORDER BY r.tm) AS t,
       array_agg(r.value ORDER BY r.tm) AS v,
       string_agg(r.flag::text, '' ORDER BY r.tm) AS flags
FROM ws_reading r
JOIN ws_point p ON p.n = r.point_n
LEFT JOIN ws_alarm_state s ON s.point_id = p.id
WHERE r.tm > %(since)s
  AND r.tm <= %(until)s
  AND r.tm > coalesce(s.last_tm, '-infinity'::timestamptz)
GROUP BY r.point_n
ORDER BY r.point_n
