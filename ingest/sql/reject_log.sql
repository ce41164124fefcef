-- A file that could not be read at all: only its provenance is written, no data.
INSERT INTO ingest_log (kind, source, sha256, bytes, status, message)
VALUES (%(kind)s, %(source)s, %(sha256)s, %(bytes)s, 'rejected', %(message)s)
RETURNING id;
