-- Store one part's receipt by the gateway's message id. A repeat changes nothing (returns no
-- row); a later word on the same message (ENROUTE, then DELIVRD) replaces the earlier one.
INSERT INTO sms_receipt AS r (provider_ref, outbox_id, part, parts, status, delivered, at,
                              received_at)
VALUES (%(message_id)s, %(outbox_id)s, %(part)s, %(parts)s, %(status)s, %(delivered)s,
        %(done_at)s, clock_timestamp())
ON CONFLICT (provider_ref) DO UPDATE
SET status = EXCLUDED.status, delivered = EXCLUDED.delivered, at = EXCLUDED.at,
    received_at = EXCLUDED.received_at
WHERE r.outbox_id = EXCLUDED.outbox_id
  AND (r.status, r.delivered, r.at) IS DISTINCT FROM (EXCLUDED.status, EXCLUDED.delivered,
                                                       EXCLUDED.at)
  AND (r.at IS NULL OR EXCLUDED.at >= r.at)
RETURNING provider_ref;
