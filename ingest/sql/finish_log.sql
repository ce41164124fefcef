UPDATE ingest_log
SET status = %(status)s, rows_loaded = %(loaded)s, rows_duplicate = %(duplicate)s,
    rows_quarantined = %(quarantined)s, tables = %(tables)s, message = %(message)s,
    valid_from = coalesce(%(valid_from)s, valid_from), valid_to = coalesce(%(valid_to)s, valid_to)
WHERE id = %(id)s;
