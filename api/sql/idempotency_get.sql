-- The request that took a key, and its answer (NULL while that request has not committed).
SELECT fingerprint, status, body
FROM idempotency_key
WHERE principal = %(principal)s AND key = %(key)s;
