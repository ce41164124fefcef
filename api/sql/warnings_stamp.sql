-- A fingerprint of the warning table: every lifecycle step updates its warning's row (a new
-- row version, so a new xmin) and new warnings add rows; deleted rows lower the count. Cached
-- list pages are keyed by it, so a page is rebuilt exactly when some warning changed.
SELECT count(*) AS n, coalesce(sum(xmin::text::bigint), 0) AS xsum FROM warning;
