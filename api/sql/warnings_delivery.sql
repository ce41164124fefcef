-- Delivery status of a warning: outbox rows per version, channel and status.
SELECT version, channel, status, count(*)::int AS n, max(attempts) AS max_attempts
FROM outbox
WHERE warning_id = %(id)s
GROUP BY version, channel, status
ORDER BY version, channel, status;
