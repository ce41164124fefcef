UPDATE cap_feed_entry
SET fetched_at = now(),
    alert_id = (SELECT id FROM cap_alert WHERE ingest_id = %(ingest_id)s ORDER BY sent LIMIT 1)
WHERE feed_id = %(feed_id)s AND entry_id = %(entry_id)s AND updated = %(updated)s;
