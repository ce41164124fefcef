SELECT id, status, rows_loaded, rows_duplicate, rows_quarantined
FROM ingest_log
WHERE kind = %(kind)s AND sha256 = %(sha256)s AND status <> 'rejected';
