SELECT column_name
FROM information_schema.columns
WHERE table_schema = current_schema() AND table_name = %(table)s
  AND is_generated = 'NEVER' AND identity_generation IS NULL
ORDER BY ordinal_position;
