-- One provenance row per ingest run (a device server): its counts grow with each flush and its
-- quarantined packets point to it.
INSERT INTO ingest_log (kind, source, sha256, bytes, status, message)
VALUES (%(kind)s, %(source)s, %(sha256)s, 0, 'loaded', %(message)s)
RETURNING id;
