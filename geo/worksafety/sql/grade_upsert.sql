INSERT INTO ws_site_grade (site_id, level, reason, items, since, updated_at)
VALUES (%(site_id)s, %(level)s, %(reason)s, %(items)s, %(since)s, %(at)s)
ON CONFLICT (site_id) DO UPDATE
SET level = EXCLUDED.level, reason = EXCLUDED.reason, items = EXCLUDED.items,
    since = EXCLUDED.since, updated_at = EXCLUDED.updated_at;
