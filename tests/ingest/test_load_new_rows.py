"""Loading a table: the plain INSERT taken when no stored row has a key in the staging rows'
ranges, and rows prepared ahead in a feed's worker, give exactly what the ON CONFLICT load
gives (issue 19, station rows). Expected rows are written out by hand; the range probe is
checked against a brute-force scan in Python."""

from __future__ import annotations

import threading
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import psycopg
import pytest
from psycopg import sql

from riskmap.ingest.batch import RECORD, TableLoad
from riskmap.ingest.tables import _stage, _stored_in_ranges_statement, load_table, prepare

T0 = datetime(2024, 7, 1, tzinfo=UTC)


def _table(conn: psycopg.Connection) -> str:
    name = f"t_obs_{uuid.uuid4().hex[:10]}"
    conn.execute(
        sql.SQL(
            "CREATE TABLE {} (k varchar(8) NOT NULL, tm timestamptz NOT NULL,"
            " v double precision CHECK (v >= 0), ingest_id bigint, PRIMARY KEY (k, tm))"
        ).format(sql.Identifier(name))
    )
    return name


def _rows(conn: psycopg.Connection, table: str) -> list[tuple]:
    return conn.execute(
        sql.SQL("SELECT k, tm, v, ingest_id FROM {} ORDER BY k, tm").format(sql.Identifier(table))
    ).fetchall()


def _frame(rows: list[tuple[str, int, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            RECORD: [f"line {i + 2}" for i in range(len(rows))],
            "k": [r[0] for r in rows],
            "tm": pd.to_datetime([T0 + timedelta(hours=r[1]) for r in rows], utc=True),
            "v": [r[2] for r in rows],
        }
    )


def _load(table: str, rows: list[tuple[str, int, float]], *, ahead: bool) -> TableLoad:
    load = TableLoad(table, _frame(rows), key=("k", "tm"), on_conflict="ignore", binary=True)
    return replace(load, prepared=prepare(load)) if ahead else load


def _h(n: int) -> datetime:
    return T0 + timedelta(hours=n)


@pytest.mark.parametrize("ahead", [False, True])
def test_new_rows_and_rows_stored_before_load_as_on_conflict_would(conn, ahead) -> None:
    table = _table(conn)
    conn.execute(
        sql.SQL("INSERT INTO {} VALUES ('A', %s, 9, 1)").format(sql.Identifier(table)), [_h(5)]
    )
    # nothing stored in A 0…2 h or B 0…1 h: the plain INSERT; the last of a repeated key wins
    first = [("A", 0, 1.0), ("A", 2, 2.0), ("B", 1, 3.0), ("A", 0, 1.5), ("B", 0, 4.0)]
    assert load_table(conn, _load(table, first, ahead=ahead), 7) == (4, 1, [])
    # A 5 h is stored (kept), A 4 h and B 9 h are new: ON CONFLICT
    second = [("A", 4, 5.0), ("A", 5, 6.0), ("B", 9, 7.0)]
    assert load_table(conn, _load(table, second, ahead=ahead), 8) == (2, 1, [])
    assert _rows(conn, table) == [
        ("A", _h(0), 1.5, 7),
        ("A", _h(2), 2.0, 7),
        ("A", _h(4), 5.0, 8),
        ("A", _h(5), 9.0, 1),
        ("B", _h(0), 4.0, 7),
        ("B", _h(1), 3.0, 7),
        ("B", _h(9), 7.0, 8),
    ]


@pytest.mark.parametrize("ahead", [False, True])
def test_a_refused_row_is_quarantined_and_the_others_load(conn, ahead) -> None:
    table = _table(conn)
    rows = [("A", 0, 1.0), ("A", 1, -2.0), ("A", 2, 3.0)]
    n, dup, problems = load_table(conn, _load(table, rows, ahead=ahead), 7)
    assert (n, dup) == (2, 0)
    assert [(p.record, p.field) for p in problems] == [("line 3", f"{table}_v_check")]
    assert _rows(conn, table) == [("A", _h(0), 1.0, 7), ("A", _h(2), 3.0, 7)]


def test_the_range_probe_agrees_with_a_brute_force_scan(conn) -> None:
    table = _table(conn)
    rng = np.random.default_rng(5)
    stored = {(f"S{rng.integers(4)}", int(h)) for h in rng.integers(0, 200, 40)}
    for k, h in stored:
        conn.execute(
            sql.SQL("INSERT INTO {} VALUES (%s, %s, 0, 1)").format(sql.Identifier(table)),
            [k, _h(h)],
        )
    for trial in range(60):
        size = int(rng.integers(1, 6))
        rows = [(f"S{rng.integers(5)}", int(rng.integers(0, 220)), 1.0) for _ in range(size)]
        load = _load(table, rows, ahead=True)
        staging = _stage(conn, load, load.prepared, ["k", "tm", "v"], None)
        found = conn.execute(_stored_in_ranges_statement(load, staging)).fetchone()[0]
        spans = {}
        for k, h, _ in rows:
            lo, hi = spans.get(k, (h, h))
            spans[k] = (min(lo, h), max(hi, h))
        expected = any(k in spans and spans[k][0] <= h <= spans[k][1] for k, h in stored)
        assert found == expected, (trial, rows)


def test_a_key_stored_by_another_transaction_meanwhile_is_skipped(db_url) -> None:
    """The probe cannot see a row another transaction has not committed; the plain INSERT
    then waits for it and, once it commits, the load falls back to ON CONFLICT."""
    with psycopg.connect(db_url, autocommit=True) as admin:
        table = _table(admin)
    try:
        with psycopg.connect(db_url) as other, psycopg.connect(db_url) as conn:
            other.execute(
                sql.SQL("INSERT INTO {} VALUES ('A', %s, 9, 1)").format(sql.Identifier(table)),
                [_h(1)],
            )
            timer = threading.Timer(1.0, other.commit)
            timer.start()
            rows = [("A", 0, 1.0), ("A", 1, 2.0), ("A", 2, 3.0)]
            assert load_table(conn, _load(table, rows, ahead=True), 7) == (2, 1, [])
            timer.join()
            conn.commit()
            assert _rows(conn, table) == [
                ("A", _h(0), 1.0, 7),
                ("A", _h(1), 9.0, 1),
                ("A", _h(2), 3.0, 7),
            ]
    finally:
        with psycopg.connect(db_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(table)))
