-- A fingerprint of the warning table: every lifecycle step updates its warning's row (a new
-- row version, so a new xmin) and new warnings add rows; deleted rows lower the count. Cached
-- list pages are keyed by it, so a page is rebuilt exactly when some warning changed. The
-- number after the colon counts open warnings whose expiry has passed, so a page is also
-- rebuilt when time alone moves a warning out of force (the list reports it expired then).
SELECT count(*) AS n,
       concat(coalesce(sum(xmin::text::bigint), 0), ':',
              count(*) FILTER (WHERE status IN ('candidate', 'issued') AND expires_at <= now()))
           AS xsum
FROM warning;
