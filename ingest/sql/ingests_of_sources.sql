SELECT id FROM ingest_log WHERE source = ANY(%(sources)s);
