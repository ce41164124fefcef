-- Outbox messages by status and channel, for /metrics.
SELECT status, channel, count(*)::int AS n FROM outbox GROUP BY status, channel ORDER BY 1, 2;
