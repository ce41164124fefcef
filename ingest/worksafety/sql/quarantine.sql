INSERT INTO quarantine (ingest_id, source, record, field, reason, raw)
VALUES (%(ingest_id)s, %(source)s, %(record)s, %(field)s, %(reason)s, %(raw)s);
