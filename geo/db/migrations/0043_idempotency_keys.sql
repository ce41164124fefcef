-- depends: 0042_invariants
-- Idempotency-Key (draft-ietf-httpapi-idempotency-key-header) on the writes a client may have to
-- send again: a field report over a weak link, a review action whose answer was lost when the
-- server died (api/idempotency.py). A key is claimed by inserting its row in the request's own
-- transaction before anything is written; the answer is stored in the same transaction, so the
-- write and its kept answer are committed together or not at all. A second request with the key
-- waits on the uncommitted row, then finds the answer. Keys are per user and kept 24 hours.
CREATE TABLE idempotency_key (
    principal text NOT NULL,
    key text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    fingerprint bytea NOT NULL CHECK (length(fingerprint) = 32),  -- SHA-256 of method, path, content
    status smallint CHECK (status BETWEEN 200 AND 299),  -- the answer kept (only successes are)
    body jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (principal, key),
    CHECK ((status IS NULL) = (body IS NULL))
);
CREATE INDEX idempotency_key_created_at ON idempotency_key (created_at);
