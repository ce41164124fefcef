-- A table's primary-key columns (in key order) and whether it has a dataset_id column: what the
-- merge of a reload matches rows by and scopes its deletions with.
SELECT coalesce((SELECT array_agg(a.attname::text ORDER BY k.i)
                 FROM pg_index x
                 CROSS JOIN LATERAL unnest(x.indkey::int2[]) WITH ORDINALITY AS k (att, i)
                 JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.att
                 WHERE x.indrelid = %(table)s::regclass AND x.indisprimary), '{}') AS key,
       EXISTS (SELECT 1 FROM pg_attribute
               WHERE attrelid = %(table)s::regclass AND attname = 'dataset_id'
                 AND NOT attisdropped) AS has_dataset;
