-- Foreign keys between tables (partitions left out: their parent's key stands for them):
-- referencing table and columns, referenced table and columns, and the ON DELETE action
-- ('c' cascade, 'n' set null, 'a'/'r' refuse, 'd' set default), whether the columns are NOT
-- NULL, and whether the referencing table holds ingested rows.
SELECT c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent,
       (SELECT array_agg(a.attname::text ORDER BY k.i)
        FROM unnest(c.conkey) WITH ORDINALITY AS k (att, i)
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.att) AS child_cols,
       (SELECT array_agg(a.attname::text ORDER BY k.i)
        FROM unnest(c.confkey) WITH ORDINALITY AS k (att, i)
        JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.att) AS parent_cols,
       c.confdeltype::text AS on_delete,
       (SELECT bool_and(a.attnotnull) FROM pg_attribute a
        WHERE a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)) AS required,
       EXISTS (SELECT 1 FROM pg_attribute
               WHERE attrelid = c.conrelid AND attname = 'ingest_id' AND NOT attisdropped)
           AS loaded
FROM pg_constraint c
JOIN pg_class r ON r.oid = c.conrelid
WHERE c.contype = 'f' AND NOT r.relispartition
  AND (c.conrelid::regclass::text = ANY(%(tables)s) OR c.confrelid::regclass::text = ANY(%(tables)s))
ORDER BY 1, 2, 3;
