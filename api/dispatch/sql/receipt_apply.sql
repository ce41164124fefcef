-- Settle sent SMS rows once every part has a final receipt: 'acked' when all parts were
-- delivered (acked_at: the last part's delivery), 'failed' when one was not (last_error says
-- which part and the gateway's word). A part sent twice (a gateway that lost its dedupe state)
-- counts as delivered if either copy was. Rows not yet 'sent' keep their receipts until the
-- dispatcher records them and calls this again; rows already settled are left alone.
WITH per_part AS (
    SELECT outbox_id, part, max(parts) AS parts, bool_or(delivered) AS delivered, max(at) AS at,
           (array_agg(status ORDER BY at DESC NULLS LAST)
                FILTER (WHERE delivered IS NOT NULL))[1] AS status
    FROM sms_receipt
    WHERE outbox_id = ANY(%(ids)s::bigint[])
    GROUP BY outbox_id, part
), per_row AS (
    SELECT outbox_id, max(parts) AS parts,
           count(*) FILTER (WHERE delivered IS NOT NULL AND part <= parts) AS settled,
           max(at) AS done_at,
           string_agg('part ' || part || '/' || parts || ' ' || status, '; ' ORDER BY part)
               FILTER (WHERE NOT delivered) AS failures
    FROM per_part
    GROUP BY outbox_id
), receipts AS (
    SELECT outbox_id,
           jsonb_agg(jsonb_build_object('message_id', provider_ref, 'part', part, 'parts', parts,
                                        'status', status, 'done_at', at)
                     ORDER BY part, at) AS receipts
    FROM sms_receipt
    WHERE outbox_id = ANY(%(ids)s::bigint[])
    GROUP BY outbox_id
)
UPDATE outbox o
SET status = CASE WHEN r.failures IS NULL THEN 'acked' ELSE 'failed' END,
    acked_at = CASE WHEN r.failures IS NULL THEN r.done_at ELSE o.acked_at END,
    ack = jsonb_build_object('receipts', x.receipts),
    last_error = CASE WHEN r.failures IS NULL THEN o.last_error
                      ELSE 'SMS not delivered: ' || r.failures END
FROM per_row r JOIN receipts x USING (outbox_id)
WHERE o.id = r.outbox_id AND o.status = 'sent' AND r.settled >= r.parts
RETURNING o.id, o.status;
