-- A fingerprint of the warning table in O(1) (migration 0041): n moves with every committed
-- change of any warning; the number after the colon counts open warnings whose expiry has passed
-- (a partial index over open ones), so a page is also rebuilt when time alone moves a warning
-- out of force (the list reports it expired then). Cached list pages are keyed by both.
SELECT c.n,
       concat(c.n, ':', (SELECT count(*) FROM warning w
                         WHERE w.status IN ('candidate', 'issued') AND w.expires_at <= now()))
           AS xsum
FROM warning_change c;
