"""Every foreign key has an index on its referencing columns (issue 17): without one, deleting
or re-keying a referenced row scans the whole referencing table once per row, and a reload of
25,000 villages never finished."""

from __future__ import annotations

import psycopg

# Foreign keys whose columns are not the leading plain columns (in any order) of a b-tree index
# that a lookup of the key can use: no predicate, or only "the key is set" (implied by it).
UNINDEXED = r"""
SELECT c.conrelid::regclass::text AS tab, c.conname,
       (SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_attribute a
        WHERE a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)) AS cols
FROM pg_constraint c
JOIN pg_namespace s ON s.oid = c.connamespace
WHERE c.contype = 'f' AND s.nspname = 'public'
  AND NOT EXISTS (
      SELECT 1 FROM pg_index i
      JOIN pg_class x ON x.oid = i.indexrelid
      JOIN pg_am am ON am.oid = x.relam AND am.amname = 'btree'
      WHERE i.indrelid = c.conrelid
        AND (i.indpred IS NULL OR pg_get_expr(i.indpred, i.indrelid) ~ '^\(\w+ IS NOT NULL\)$')
        AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] @> c.conkey
        AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] <@ c.conkey)
ORDER BY 1, 2
"""


def test_every_foreign_key_is_indexed(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        fks = conn.execute("SELECT count(*) FROM pg_constraint WHERE contype = 'f'").fetchone()[0]
        missing = conn.execute(UNINDEXED).fetchall()
    assert fks > 50  # the catalogue query sees the schema's keys
    assert missing == [], "foreign keys without an index: " + "; ".join(
        f"{t}({', '.join(cols)}) [{name}]" for t, name, cols in missing
    )
