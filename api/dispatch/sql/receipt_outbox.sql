-- The SMS outbox row a receipt names (by idempotency key), locked until the receipt's
-- transaction ends: receipts for the parts of one row settle it one after another (two taken
-- at once would each miss the other's part), and wait for a dispatcher still recording it.
SELECT id, warning_id, status, target
FROM outbox
WHERE idempotency_key = %(key)s AND channel = 'sms'
FOR UPDATE;
