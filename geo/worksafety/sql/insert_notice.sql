-- One notice per alarm change; the engine reporting it again finds the same row.
INSERT INTO ws_notice (site_id, item, kind, level, previous_level, opened_at, summary_zh)
VALUES (%(site_id)s, %(item)s, %(kind)s, %(level)s, %(previous_level)s, %(opened_at)s,
        %(summary_zh)s)
ON CONFLICT (site_id, item, kind, level, opened_at) DO UPDATE SET summary_zh = EXCLUDED.summary_zh
RETURNING id;
