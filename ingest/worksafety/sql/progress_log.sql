-- A flushed batch added to its run's provenance row.
UPDATE ingest_log
SET bytes = bytes + %(bytes)s,
    rows_loaded = rows_loaded + %(loaded)s,
    rows_duplicate = rows_duplicate + %(duplicate)s,
    rows_quarantined = rows_quarantined + %(quarantined)s,
    status = CASE WHEN rows_quarantined + %(quarantined)s > 0 THEN 'partial' ELSE 'loaded' END,
    valid_from = least(valid_from, %(valid_from)s),
    valid_to = greatest(valid_to, %(valid_to)s),
    tables = jsonb_build_object('ws_reading', rows_loaded + %(loaded)s)
WHERE id = %(id)s;
