-- An ATOM entry whose link the runner refused to follow (ingest/links.py): kept, not fetched,
-- with the reason; it leaves the to-do list.
UPDATE cap_feed_entry
SET disposition = 'unusable', reason = %(reason)s
WHERE feed_id = %(feed_id)s AND entry_id = %(entry_id)s AND updated = %(updated)s;
