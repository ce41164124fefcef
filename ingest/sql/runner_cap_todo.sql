-- ATOM entries that only link to their CAP message, not fetched yet (oldest first).
SELECT feed_id, entry_id, updated, link
FROM cap_feed_entry
WHERE disposition = 'fetch' AND fetched_at IS NULL
ORDER BY updated
LIMIT %(limit)s;
