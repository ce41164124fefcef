-- Held by the session running the drill for as long as it runs (taken in the transaction that
-- registers it, kept across its commits, released when it finishes or the session ends).
SELECT pg_advisory_lock(%(space)s::int, %(id)s::int);
