-- Claim a key for this request; no row when it is taken (waits while another open transaction
-- holds it, so a concurrent retry sees that request's outcome).
INSERT INTO idempotency_key (principal, key, fingerprint)
VALUES (%(principal)s, %(key)s, %(fingerprint)s)
ON CONFLICT (principal, key) DO NOTHING
RETURNING true AS claimed;
