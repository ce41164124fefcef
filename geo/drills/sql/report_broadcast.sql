-- Loudspeaker messages that announce a warning (not the all-clears and "no longer in the area"
-- notes): one row per (warning, village) with when the first message was queued, sent and
-- acknowledged (wall clock: the dispatcher and the receivers really ran).
SELECT o.warning_id, o.payload ->> 'village_code' AS village_code,
       min(o.created_at) AS queued_at,
       min(o.sent_at) AS sent_at,
       min(o.acked_at) FILTER (WHERE o.status = 'acked') AS acked_at,
       count(*) AS messages,
       count(*) FILTER (WHERE o.status IN ('pending')) AS pending,
       count(*) FILTER (WHERE o.status IN ('dead', 'failed')) AS failed,
       count(*) FILTER (WHERE o.status IN ('expired', 'superseded')) AS dropped
FROM outbox o
WHERE o.channel = 'broadcast' AND o.warning_id IS NOT NULL
  AND o.payload ->> 'msg_type' <> 'Cancel'
GROUP BY o.warning_id, o.payload ->> 'village_code'
ORDER BY o.warning_id, village_code;
