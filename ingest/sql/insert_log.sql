INSERT INTO ingest_log (kind, source, sha256, bytes, valid_from, valid_to, status)
VALUES (%(kind)s, %(source)s, %(sha256)s, %(bytes)s, %(valid_from)s, %(valid_to)s, 'loaded')
RETURNING id;
