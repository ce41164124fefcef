-- Text messages of the drill by status (warnings' and response tasks').
SELECT CASE WHEN o.warning_id IS NULL THEN 'task' ELSE 'warning' END AS kind, o.status,
       count(*) AS messages, count(DISTINCT o.target) AS phones
FROM outbox o
WHERE o.channel = 'sms'
GROUP BY 1, 2
ORDER BY 1, 2;
