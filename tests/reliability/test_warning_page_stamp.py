"""The warnings page cache's fingerprint costs the same with 3 or 3,000 warnings in the history,
and still moves with every change (issue 17)."""

from __future__ import annotations

import json

import psycopg
import pytest

from riskmap.geo.db.sqlfiles import load_sql
from tests.reliability.conftest import new_database

STAMP = load_sql("riskmap.api.sql", "warnings_stamp.sql")
# Ended warnings as history piles them up (the values are not what is tested).
HISTORY = """
INSERT INTO warning (rule_id, rule_version, hazard, colour, status, review, first_fired_at,
                     last_fired_at, valid_from, expires_at, hold_hours, village_codes, geom,
                     ended_at)
SELECT 'test.history', '1', 'flash_flood', 'blue', 'expired', 'auto', t, t, t,
       t + interval '6 hours', 6, ARRAY['431226101201'],
       ST_Multi(ST_MakeEnvelope(110, 27, 110.01, 27.01, 4326)), t + interval '6 hours'
FROM generate_series(1, %(n)s) i, LATERAL (SELECT now() - i * interval '1 hour' AS t) x
"""

OPEN = """
INSERT INTO warning (rule_id, rule_version, hazard, colour, review, first_fired_at, last_fired_at,
                     valid_from, expires_at, hold_hours, village_codes, geom)
VALUES ('test.open', '1', 'flash_flood', 'blue', 'auto', now(), now(), now(),
        clock_timestamp() + interval '1 second', 1, ARRAY['431226101201'],
        ST_Multi(ST_MakeEnvelope(110, 27, 110.01, 27.01, 4326)))
"""


@pytest.fixture(scope="module")
def url(pg_cluster) -> str:
    return new_database(pg_cluster)


def _blocks(conn: psycopg.Connection) -> int:
    """Buffers the stamp statement touches (hits + reads), from its own plan."""
    plan = conn.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + STAMP).fetchone()[0]
    top = (plan if isinstance(plan, list) else json.loads(plan))[0]["Plan"]
    return top["Shared Hit Blocks"] + top["Shared Read Blocks"]


def _stamp(url: str) -> tuple:
    with psycopg.connect(url) as conn:
        row = conn.execute(STAMP).fetchone()
    return tuple(row)


def test_stamp_cost_does_not_grow_with_history(url: str) -> None:
    with psycopg.connect(url) as conn:
        conn.execute(HISTORY, {"n": 3})
        conn.commit()
        small = _blocks(conn)
        conn.execute(HISTORY, {"n": 3000})
        conn.commit()
        large = _blocks(conn)
    assert large <= small + 2, f"stamp reads {small} blocks at 3 warnings, {large} at 3,003"


def test_stamp_moves_with_every_change(url: str) -> None:
    seen = [_stamp(url)]
    changes = [
        HISTORY.replace("%(n)s", "1"),
        "UPDATE warning SET hold_hours = 7 WHERE id = (SELECT max(id) FROM warning)",
        "DELETE FROM warning WHERE id = (SELECT max(id) FROM warning)",
    ]
    for change in changes:
        with psycopg.connect(url) as conn:
            conn.execute(change)
        seen.append(_stamp(url))
    with psycopg.connect(url) as conn:  # the demo's reset deletes in replica mode
        conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute("DELETE FROM warning WHERE id = (SELECT max(id) FROM warning)")
    seen.append(_stamp(url))
    with psycopg.connect(url) as conn:  # time alone: an open warning's expiry passes
        conn.execute(OPEN)
    seen.append(_stamp(url))
    with psycopg.connect(url) as conn:
        conn.execute("SELECT pg_sleep(1.1)")
    seen.append(_stamp(url))
    with psycopg.connect(url) as conn:  # a rolled-back change is no change
        conn.execute("UPDATE warning SET hold_hours = 8")
        conn.rollback()
    seen.append(_stamp(url))
    assert len(set(seen[:-1])) == len(seen) - 1, seen
    assert seen[-1] == seen[-2]
