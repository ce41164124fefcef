-- Record a batch's outcomes in one statement: each row's new state and one attempt row each.
-- outcome: delivered → sent; retry → pending again at next_at (or superseded when a newer
-- version came meanwhile); dead → dead; superseded / expired: not sent, no attempt counted.
WITH r AS (
    SELECT * FROM unnest(%(ids)s::bigint[], %(outcome)s::text[], %(status_code)s::int[],
                         %(latency_ms)s::float8[], %(error)s::text[], %(next_at)s::timestamptz[],
                         %(provider_ref)s::text[], %(at)s::timestamptz[])
        AS r (id, outcome, status_code, latency_ms, error, next_at, provider_ref, at)
), u AS (
    UPDATE outbox o SET
        attempts = o.attempts + CASE WHEN r.outcome IN ('superseded', 'expired') THEN 0 ELSE 1 END,
        status = CASE
            WHEN r.outcome = 'delivered' THEN 'sent'
            WHEN r.outcome IN ('dead', 'superseded', 'expired') THEN r.outcome
            WHEN EXISTS (SELECT 1 FROM outbox n
                         WHERE n.warning_id = o.warning_id AND n.channel = o.channel
                           AND n.target = o.target AND n.version > o.version) THEN 'superseded'
            ELSE 'pending' END,
        sent_at = CASE WHEN r.outcome = 'delivered' THEN clock_timestamp() ELSE o.sent_at END,
        next_attempt_at = coalesce(r.next_at, o.next_attempt_at),
        last_error = r.error,
        provider_ref = coalesce(r.provider_ref, o.provider_ref)
    FROM r WHERE o.id = r.id
    RETURNING o.id, o.attempts, o.channel, o.target
)
INSERT INTO delivery_attempt (outbox_id, attempt, at, channel, target, dispatcher, outcome,
                              status_code, latency_ms, error)
SELECT u.id, u.attempts, r.at, u.channel, u.target, %(dispatcher)s, r.outcome, r.status_code,
       r.latency_ms, r.error
FROM u JOIN r USING (id)
WHERE r.outcome IN ('delivered', 'retry', 'dead');
