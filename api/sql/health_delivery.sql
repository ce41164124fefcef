-- The outbox as an operator sees it: what waits, since when, and what was given up.
SELECT count(*) FILTER (WHERE status = 'pending')::int AS pending,
       count(*) FILTER (WHERE status = 'pending' AND next_attempt_at <= now())::int AS due,
       count(*) FILTER (WHERE status = 'pending' AND channel = 'sms')::int AS sms_pending,
       count(*) FILTER (WHERE status = 'dead')::int AS dead,
       count(*) FILTER (WHERE status = 'dead' AND created_at > now() - interval '24 hours')::int
           AS dead_24h,
       extract(epoch FROM now() - min(created_at) FILTER (WHERE status = 'pending'))::float8
           AS oldest_pending_s
FROM outbox;
