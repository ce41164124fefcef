-- Tables whose rows remember the ingest that wrote them.
SELECT table_name
FROM information_schema.columns
WHERE table_schema = current_schema() AND column_name = 'ingest_id'
  AND table_name IN (SELECT table_name FROM information_schema.tables
                     WHERE table_schema = current_schema() AND table_type = 'BASE TABLE')
ORDER BY table_name;
