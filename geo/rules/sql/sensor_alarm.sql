-- Per village, sensors (of its hazard points, or of sites in it) whose latest reading within
-- max_age before `at` is past the alarm value: how many, and the highest reading / alarm.
WITH latest AS (
    SELECT DISTINCT ON (o.sensor_id) o.sensor_id, o.value
    FROM sensor_obs o
    WHERE o.tm <= %(at)s AND o.tm > %(at)s - make_interval(secs => %(max_age_s)s)
    ORDER BY o.sensor_id, o.tm DESC
), placed AS (
    SELECT coalesce(p.village_code, st.admin_code) AS village_code, s.alarm_value, s.alarm_when,
           l.value
    FROM latest l
    JOIN sensor s ON s.id = l.sensor_id AND s.alarm_value IS NOT NULL AND s.alarm_value <> 0
    LEFT JOIN hazard_point p ON p.id = s.hazard_point_id
    LEFT JOIN hazardous_site st ON st.id = s.site_id
)
SELECT village_code,
       count(*) FILTER (WHERE CASE alarm_when WHEN 'above' THEN value > alarm_value
                                              ELSE value < alarm_value END)::float8,
       max(CASE alarm_when WHEN 'above' THEN value / alarm_value
                           ELSE alarm_value / nullif(value, 0) END)
FROM placed
GROUP BY village_code
