-- Keys older than the time they are kept (migration 0043): a later request may use them again.
-- Rows another request is pruning are skipped, not waited for (no request queues behind one).
DELETE FROM idempotency_key
WHERE (principal, key) IN (
    SELECT principal, key FROM idempotency_key
    WHERE created_at < now() - make_interval(hours => %(keep_hours)s)
    ORDER BY created_at
    LIMIT 100
    FOR UPDATE SKIP LOCKED
);
