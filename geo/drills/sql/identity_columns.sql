-- Identity columns of public tables and their sequences: a drill's twins draw from the same
-- sequences, so ids are unique across real and drill rows (a receiver that drops repeats by
-- "warning:<id>:v<n>" never takes a drill message for a real one).
SELECT c.relname AS table_name, a.attname AS column_name,
       pg_get_serial_sequence(format('public.%%I', c.relname), a.attname) AS sequence_name
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relname = ANY(%(tables)s::text[])
  AND a.attidentity <> '' AND NOT a.attisdropped
ORDER BY c.relname, a.attnum;
