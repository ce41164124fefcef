-- Seconds until the earliest pending message falls due (NULL when none is pending).
SELECT extract(epoch FROM min(next_attempt_at) - now())::float8
FROM outbox WHERE status = 'pending' AND channel <> ALL (%(skip_channels)s::text[]);
