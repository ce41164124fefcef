-- Dead messages queued again (the operator fixed the cause), unless their version has ended or
-- a newer version to the same target exists; attempts start from zero (the history stays in
-- delivery_attempt).
UPDATE outbox o SET status = 'pending', attempts = 0, next_attempt_at = now(),
       last_error = 'queued again by an operator after: ' || coalesce(o.last_error, '?')
WHERE o.status = 'dead'
  AND (%(warning_id)s::bigint IS NULL OR o.warning_id = %(warning_id)s)
  AND coalesce((o.payload ->> 'expires')::timestamptz > now(), true)
  AND NOT EXISTS (SELECT 1 FROM outbox n
                  WHERE n.warning_id = o.warning_id AND n.channel = o.channel
                    AND n.target = o.target AND n.version > o.version);
