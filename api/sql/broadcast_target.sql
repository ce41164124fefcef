-- The terminal a broadcast was addressed to, for checking who acknowledges it.
SELECT id, warning_id, target, idempotency_key, status
FROM outbox WHERE id = %(id)s AND channel = 'broadcast';
