-- The answer to a claimed key, committed with the request's writes.
UPDATE idempotency_key SET status = %(status)s, body = %(body)s
WHERE principal = %(principal)s AND key = %(key)s AND status IS NULL;
