-- Claim due messages for delivery, skipping rows another dispatcher holds. A message waits while
-- an older version of the same warning for the same target is still pending (in flight
-- elsewhere): a cancel never overtakes the alert it cancels. `stale`: a newer version exists
-- (supersede, do not send); `ended`: the version expired before delivery (by `clock`, a drill's
-- scenario time, when given; else now()).
SELECT o.id, o.warning_id, o.version, o.channel, o.target, o.payload, o.idempotency_key,
       o.attempts, k.version AS key_version, k.secret AS key_secret,
       EXISTS (SELECT 1 FROM outbox n
               WHERE n.warning_id = o.warning_id AND n.channel = o.channel
                 AND n.target = o.target AND n.version > o.version) AS stale,
       coalesce((o.payload ->> 'expires')::timestamptz
                <= coalesce(%(clock)s::timestamptz, now()), false) AS ended
FROM outbox o
LEFT JOIN LATERAL (
    SELECT tk.version, tk.secret FROM terminal_key tk
    WHERE o.channel = 'broadcast' AND tk.terminal_id = o.target AND tk.retired_at IS NULL
    ORDER BY tk.version DESC LIMIT 1
) k ON true
WHERE o.status = 'pending' AND o.next_attempt_at <= now()
  AND o.channel <> ALL (%(skip_channels)s::text[])
  AND NOT EXISTS (SELECT 1 FROM outbox p
                  WHERE p.warning_id = o.warning_id AND p.channel = o.channel
                    AND p.target = o.target AND p.version < o.version AND p.status = 'pending')
ORDER BY o.next_attempt_at, o.id
LIMIT %(limit)s
FOR UPDATE OF o SKIP LOCKED;
