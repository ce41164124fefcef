"""rain_obs → station held by statement-level triggers (migration 0056) refuses, cascades and
locks as a declared foreign key does. The oracle is river_obs, whose key to station is still
declared: every statement is run against both and must end the same way."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime

import pandas as pd
import psycopg
import pytest
from psycopg import sql

from riskmap.ingest.batch import RECORD, TableLoad
from riskmap.ingest.tables import load_table

TM = datetime(2024, 7, 1, tzinfo=UTC)
# the value column each table needs (river_obs: z or q; rain_obs: drp may be NULL)
VALUE = {"rain_obs": "drp", "river_obs": "z"}
DATASET = "test-rain-obs-key"


def _code() -> str:
    return "Z" + uuid.uuid4().hex[:7].upper()


def _add_station(conn: psycopg.Connection, stcd: str) -> None:
    conn.execute(
        "INSERT INTO dataset (id, title, synthetic, source) VALUES (%s, 'test', true, 'test')"
        " ON CONFLICT DO NOTHING",
        [DATASET],
    )
    conn.execute(
        "INSERT INTO station (stcd, stnm, sttp, addvcd, dataset_id, geom)"
        " VALUES (%s, 'test', 'PP', '431226', %s, ST_SetSRID(ST_MakePoint(110, 27), 4326))",
        [stcd, DATASET],
    )


def _insert(conn: psycopg.Connection, table: str, stcd: str, hour: int = 0) -> None:
    conn.execute(
        sql.SQL(
            "INSERT INTO {} (stcd, tm, {}) VALUES (%s, %s + make_interval(hours => %s), 1)"
        ).format(sql.Identifier(table), sql.Identifier(VALUE[table])),
        [stcd, TM, hour],
    )


def _outcome(conn: psycopg.Connection, statement) -> tuple[str | None, str | None]:
    """(SQLSTATE, constraint with its table's name cut off) of running ``statement`` in a
    savepoint; (None, None) when it succeeds."""
    try:
        with conn.transaction():
            statement()
    except psycopg.Error as exc:
        name = exc.diag.constraint_name
        return exc.sqlstate, name.split("_", 2)[-1] if name else None
    return None, None


def _count(conn: psycopg.Connection, table: str, stcd: str) -> int:
    return conn.execute(
        sql.SQL("SELECT count(*) FROM {} WHERE stcd = %s").format(sql.Identifier(table)), [stcd]
    ).fetchone()[0]


@pytest.mark.parametrize("table", ["rain_obs", "river_obs"])
def test_a_row_must_name_a_station_on_insert_and_on_update(conn, table) -> None:
    known = _code()
    _add_station(conn, known)
    assert _outcome(conn, lambda: _insert(conn, table, known)) == (None, None)
    refused = ("23503", "stcd_fkey")
    assert _outcome(conn, lambda: _insert(conn, table, _code())) == refused
    move = sql.SQL("UPDATE {} SET stcd = %s WHERE stcd = %s").format(sql.Identifier(table))
    assert _outcome(conn, lambda: conn.execute(move, [_code(), known])) == refused
    assert _count(conn, table, known) == 1


def test_both_tables_refuse_and_keep_alike(conn) -> None:
    """The same statements against the declared key and the triggers: the same ends."""
    known, other = _code(), _code()
    _add_station(conn, known)
    _add_station(conn, other)
    ends = {}
    for table in ("rain_obs", "river_obs"):
        steps = [
            lambda t=table: _insert(conn, t, known, 0),
            lambda t=table: _insert(conn, t, "NOSUCH01", 1),
            lambda t=table: _insert(conn, t, other, 2),
            # the station's code changes while rows name it: refused (NO ACTION)
            lambda: conn.execute("UPDATE station SET stcd = %s WHERE stcd = %s", [_code(), other]),
            # a station without rows may change its name; one with rows too (not its code)
            lambda: conn.execute("UPDATE station SET stnm = 'renamed' WHERE stcd = %s", [known]),
        ]
        ends[table] = [_outcome(conn, step) for step in steps]
        ends[table].append((_count(conn, table, known), _count(conn, table, other)))
    assert ends["rain_obs"] == ends["river_obs"]
    assert ends["rain_obs"][1] == ("23503", "stcd_fkey")
    assert ends["rain_obs"][3] == ("23503", "stcd_fkey")
    # deleting a station deletes its rows from both
    conn.execute("DELETE FROM station WHERE stcd = %s", [known])
    assert [_count(conn, t, known) for t in ("rain_obs", "river_obs")] == [0, 0]
    assert [_count(conn, t, other) for t in ("rain_obs", "river_obs")] == [1, 1]


def test_truncate_station_is_refused_while_rain_rows_exist(conn) -> None:
    known = _code()
    _add_station(conn, known)
    _insert(conn, "rain_obs", known)
    for statement in ("TRUNCATE station", "TRUNCATE station CASCADE"):
        assert _outcome(conn, lambda s=statement: conn.execute(s))[0] == "0A000"
    assert _count(conn, "rain_obs", known) == 1


def test_an_unknown_station_reaching_the_database_is_quarantined_as_before(conn) -> None:
    """load_table's row-by-row retry names the refused row and the key, for both tables."""
    known = _code()
    _add_station(conn, known)
    problems = {}
    for table in ("rain_obs", "river_obs"):
        frame = pd.DataFrame(
            {
                RECORD: ["line 2", "line 3"],
                "stcd": [known, "NOSUCH01"],
                "tm": pd.to_datetime([TM, TM], utc=True),
                VALUE[table]: [1.0, 2.0],
            }
        )
        load = TableLoad(table, frame, key=("stcd", "tm"), on_conflict="ignore", binary=True)
        n, dup, bad = load_table(conn, load, 1)
        problems[table] = (n, dup, [(p.record, p.field.split("_", 2)[-1]) for p in bad])
        assert [p.reason for p in bad] == [
            f'insert or update on table "{table}" violates foreign key constraint'
            f' "{table}_stcd_fkey"'
        ]
    assert problems["rain_obs"] == problems["river_obs"] == (1, 0, [("line 3", "stcd_fkey")])


def _committed_station(db_url: str) -> str:
    stcd = _code()
    with psycopg.connect(db_url, autocommit=True) as c:
        _add_station(c, stcd)
    return stcd


def _drop_station(db_url: str, stcd: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as c:
        c.execute("DELETE FROM station WHERE stcd = %s", [stcd])


@pytest.mark.parametrize("table", ["rain_obs", "river_obs"])
def test_a_station_deleted_while_a_row_is_written_leaves_no_orphan(db_url, table) -> None:
    """Writer first: the delete waits for it, then takes its row too. Delete first: the
    writer waits for it, then is refused."""
    stcd = _committed_station(db_url)
    try:
        with psycopg.connect(db_url) as writer, psycopg.connect(db_url) as deleter:
            _insert(writer, table, stcd)  # uncommitted: holds the station FOR KEY SHARE
            done = threading.Event()

            def delete() -> None:
                deleter.execute("DELETE FROM station WHERE stcd = %s", [stcd])
                deleter.commit()
                done.set()

            worker = threading.Thread(target=delete)
            worker.start()
            time.sleep(0.5)
            assert not done.is_set()  # waiting for the writer's lock
            writer.commit()
            worker.join(10)
            assert done.is_set()
            assert _count(writer, table, stcd) == 0
        stcd = _committed_station(db_url)
        with psycopg.connect(db_url) as writer, psycopg.connect(db_url) as deleter:
            deleter.execute("DELETE FROM station WHERE stcd = %s", [stcd])
            timer = threading.Timer(0.5, deleter.commit)
            timer.start()
            assert _outcome(writer, lambda: _insert(writer, table, stcd)) == (
                "23503",
                "stcd_fkey",
            )
            timer.join()
    finally:
        _drop_station(db_url, stcd)
