"""The SL 323 database source through the runner: a real remote PostgreSQL with the SL 323
tables (tests/ingest/sl323_remote.py) read into a real PostGIS. Expected values are the
hand-written rows, their UTC times the test's own arithmetic (Beijing time minus 8 hours)."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from pydantic import SecretStr

from riskmap.geo.db.cluster import EmbeddedCluster
from riskmap.ingest.runner import Runner
from riskmap.ingest.sl323db.poll import poll_database
from riskmap.ingest.sources import DatabaseSource
from tests.conftest import make_scratch_dir
from tests.ingest.sl323_remote import (
    PASSWORD,
    drop,
    hour_base,
    insert,
    our_database,
    remote_cluster,
    remote_database,
    rows_of,
    utc,
)

H = timedelta(hours=1)
PASSWORDS = {"prov": SecretStr(PASSWORD)}


@pytest.fixture(scope="module")
def remote() -> Iterator[EmbeddedCluster]:
    yield from remote_cluster("riskmap-sl323-remote-")


@pytest.fixture(scope="module")
def ours(pg_cluster: EmbeddedCluster) -> Iterator[str]:
    tmp = make_scratch_dir("sl323db-ours-")
    url = our_database(pg_cluster, tmp)
    yield url
    drop(pg_cluster, url)
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def ours_clean(ours: str) -> str:
    with psycopg.connect(ours) as c:
        for table in ("rain_obs", "river_obs", "reservoir_obs", "village_rain", "sl323_db_mark"):
            c.execute(f"DELETE FROM {table}")
        c.execute("DELETE FROM ingest_log WHERE source LIKE 'sl323-db:%'")
    return ours


@pytest.fixture
def db(remote: EmbeddedCluster) -> Iterator[tuple[str, str]]:
    url, admin = remote_database(remote)
    yield url, admin
    drop(remote, admin)


def source(url: str, **extra) -> DatabaseSource:
    return DatabaseSource(name="prov", kind="sl323-db", url=url, **({"overlap_s": 7200} | extra))


def runner(ours: str, tmp: Path, src: DatabaseSource) -> Runner:
    return Runner(ours, tmp, tmp / "inbox", [src], passwords=PASSWORDS)


def rain(stcd: str, tm, drp, intv=1.0, **more) -> dict:
    return {"STCD": stcd, "TM": tm, "DRP": drp, "INTV": intv, **more}


def stored_rain(ours: str) -> list[tuple]:
    return rows_of(ours, "SELECT stcd, tm, drp FROM rain_obs ORDER BY tm, stcd")


def ingests(ours: str) -> int:
    return rows_of(ours, "SELECT count(*) FROM ingest_log WHERE source LIKE 'sl323-db:%'")[0][0]


def test_rows_of_the_three_tables_appear_after_a_poll(ours_clean, db, tmp_path) -> None:
    url, admin = db
    t0 = hour_base()
    insert(admin, "ST_PPTN_R", [rain("61100001", t0, 1.5, WTH="7"), rain("61100001", t0 + H, 12)])
    insert(
        admin,
        "ST_RIVER_R",
        [{"STCD": "61100002", "TM": t0, "Z": 201.35, "Q": 830.5, "WPTN": "5", "XSAVV": 1.2}],
    )
    insert(
        admin,
        "ST_RSVR_R",
        [{"STCD": "61100003", "TM": t0 + 2 * H, "RZ": 188.2, "INQ": 35, "OTQ": 12.5, "W": 4.1}],
    )
    summaries = runner(ours_clean, tmp_path, source(url)).run_once()
    assert sorted(s.status for s in summaries) == ["loaded"] * 3, summaries
    assert stored_rain(ours_clean) == [
        ("61100001", utc(t0), 1.5),
        ("61100001", utc(t0 + H), 12.0),
    ]
    assert rows_of(ours_clean, "SELECT wth FROM rain_obs WHERE drp = 1.5") == [("7",)]
    assert rows_of(ours_clean, "SELECT stcd, tm, z, q, wptn FROM river_obs") == [
        ("61100002", utc(t0), 201.35, 830.5, 5)
    ]
    assert rows_of(ours_clean, "SELECT stcd, tm, rz, inq, otq, w FROM reservoir_obs") == [
        ("61100003", utc(t0 + 2 * H), 188.2, 35.0, 12.5, 4.1)
    ]
    assert rows_of(ours_clean, "SELECT sl323_table, tm FROM sl323_db_mark ORDER BY 1") == [
        ("ST_PPTN_R", t0 + H),
        ("ST_RIVER_R", t0),
        ("ST_RSVR_R", t0 + 2 * H),
    ]
    kinds = rows_of(ours_clean, "SELECT DISTINCT kind FROM ingest_log WHERE source LIKE 'sl323%'")
    assert kinds == [("hydro-sl323",)]


def test_late_rows_inside_the_overlap_are_read_and_older_ones_are_not(
    ours_clean, db, tmp_path
) -> None:
    url, admin = db
    t0 = hour_base(8)
    insert(admin, "ST_PPTN_R", [rain("61100001", t0 + 4 * H, 2.0)])
    run = runner(ours_clean, tmp_path, source(url))
    run.run_once()  # mark: t0 + 4 h; the overlap reaches back to t0 + 2 h
    late = rain("61100001", t0 + 2 * H + timedelta(minutes=30), 3.5)
    too_late = rain("61100001", t0 + H, 9.0)  # older than the mark less the overlap
    insert(admin, "ST_PPTN_R", [late, too_late])
    run.run_once()
    assert stored_rain(ours_clean) == [
        ("61100001", utc(late["TM"]), 3.5),
        ("61100001", utc(t0 + 4 * H), 2.0),
    ]


def test_rows_read_twice_are_stored_once_and_the_first_value_is_kept(
    ours_clean, db, tmp_path
) -> None:
    url, admin = db
    t0 = hour_base()
    insert(admin, "ST_PPTN_R", [rain("61100001", t0, 4.0), rain("61100001", t0 + H, 6.0)])
    run = runner(ours_clean, tmp_path, source(url, tables=["ST_PPTN_R"]))
    assert [s.status for s in run.run_once()] == ["loaded"]
    assert run.run_once() == []  # the overlap holds both rows: read again, nothing new
    assert ingests(ours_clean) == 1
    # a corrected value at the remote is kept as first stored, as the SL 323 files do
    with psycopg.connect(admin) as c:
        c.execute("UPDATE st_pptn_r SET drp = 5.0 WHERE tm = %s", [t0])
    run.run_once()
    assert stored_rain(ours_clean) == [
        ("61100001", utc(t0), 4.0),
        ("61100001", utc(t0 + H), 6.0),
    ]
    total = rows_of(
        ours_clean,
        "SELECT sum((tables->>'rain_obs')::int) FROM ingest_log WHERE source LIKE 'sl323-db:%'",
    )
    assert total == [(2,)] and ingests(ours_clean) == 1


def test_a_new_runner_resumes_from_the_stored_mark(ours_clean, db, tmp_path) -> None:
    url, admin = db
    t0 = hour_base(10)
    insert(admin, "ST_PPTN_R", [rain("61100001", t0 + 6 * H, 1.0)])
    runner(ours_clean, tmp_path, source(url)).run_once()
    # written while no runner ran: one after the mark, one before the mark less the overlap
    # (within the first poll's one-day reach, so only the mark keeps the new runner from it)
    insert(admin, "ST_PPTN_R", [rain("61100001", t0 + 7 * H, 2.0), rain("61100001", t0, 8.0)])
    restarted = runner(ours_clean, tmp_path, source(url))
    assert [s.status for s in restarted.run_once()] == ["loaded"]
    assert stored_rain(ours_clean) == [
        ("61100001", utc(t0 + 6 * H), 1.0),
        ("61100001", utc(t0 + 7 * H), 2.0),
    ]
    assert rows_of(ours_clean, "SELECT tm FROM sl323_db_mark") == [(t0 + 7 * H,)]


def test_pages_split_rows_of_one_time_without_losing_any(ours_clean, db, tmp_path) -> None:
    url, admin = db
    t0 = hour_base()
    rows = [
        rain(stcd, t0 + k * H, float(k + 1))
        for k in range(3)
        for stcd in ("61100001", "61100002", "61100003")
    ]
    insert(admin, "ST_PPTN_R", rows)
    run = runner(ours_clean, tmp_path, source(url, tables=["ST_PPTN_R"], page_rows=2))
    summaries = run.run_once()
    assert len(summaries) == 5 and sum(s.loaded["rain_obs"] for s in summaries) == 9
    expected = sorted((r["STCD"], utc(r["TM"]), r["DRP"]) for r in rows)
    assert sorted(stored_rain(ours_clean)) == expected


def test_bad_rows_are_quarantined_once_naming_table_row_and_field(ours_clean, db, tmp_path) -> None:
    url, admin = db
    t0 = hour_base()
    insert(admin, "ST_PPTN_R", [rain("61100001", t0, -2.0), rain("61100001", t0 + H, 1.0)])
    insert(admin, "ST_RIVER_R", [{"STCD": "61100002", "TM": t0, "Z": 200.1, "WPTN": "7"}])
    insert(admin, "ST_RSVR_R", [{"STCD": "69999999", "TM": t0, "RZ": 150.0}])
    # passes the checks, refused by the database (reservoir_obs: inq >= 0)
    insert(admin, "ST_RSVR_R", [{"STCD": "61100003", "TM": t0 + H, "RZ": 180.0, "INQ": -5.0}])
    run = runner(ours_clean, tmp_path, source(url))
    run.run_once()
    made = ingests(ours_clean)
    assert run.run_once() == []  # the bad rows are inside the overlap: read again, nothing new
    assert ingests(ours_clean) == made
    stamp = t0.strftime("%Y-%m-%d %H:%M:%S")
    later = (t0 + H).strftime("%Y-%m-%d %H:%M:%S")
    assert rows_of(
        ours_clean, "SELECT source, record, field, reason FROM quarantine ORDER BY 1, 2"
    ) == [
        (
            "sl323-db:prov/ST_PPTN_R",
            f"ST_PPTN_R STCD 61100001 TM {stamp}",
            "DRP",
            "negative rainfall -2 mm",
        ),
        (
            "sl323-db:prov/ST_RIVER_R",
            f"ST_RIVER_R STCD 61100002 TM {stamp}",
            "WPTN",
            "trend code 7 is not 4 (falling), 5 (rising) or 6 (steady)",
        ),
        (
            "sl323-db:prov/ST_RSVR_R",
            f"ST_RSVR_R STCD 61100003 TM {later}",
            "reservoir_obs_inq_check",
            'new row for relation "reservoir_obs" violates check constraint'
            ' "reservoir_obs_inq_check"',
        ),
        (
            "sl323-db:prov/ST_RSVR_R",
            f"ST_RSVR_R STCD 69999999 TM {stamp}",
            "STCD",
            "unknown station STCD '69999999'",
        ),
    ]
    assert stored_rain(ours_clean) == [("61100001", utc(t0 + H), 1.0)]
    assert rows_of(ours_clean, "SELECT count(*) FROM river_obs") == [(0,)]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"stations": ["62200001"]}, ["62200001"]),
        ({"stcd_prefixes": ["611"]}, ["61100001"]),
        ({"addvcd": ["4304"]}, ["62200001"]),
        ({}, ["61100001", "62200001"]),
    ],
)
def test_station_filters(ours_clean, remote, tmp_path, filters, expected) -> None:
    url, admin = remote_database(remote, upper_case=True)  # as SQL Server keeps the names
    try:
        t0 = hour_base()
        insert(
            admin,
            "ST_STBPRP_B",
            [{"STCD": "61100001", "STNM": "高村", "ADDVCD": "431226"}],
            upper_case=True,
        )
        insert(
            admin,
            "ST_STBPRP_B",
            [{"STCD": "62200001", "STNM": "衡阳", "ADDVCD": "430421"}],
            upper_case=True,
        )
        insert(
            admin,
            "ST_PPTN_R",
            [rain("61100001", t0, 1.0), rain("62200001", t0, 2.0)],
            upper_case=True,
        )
        src = source(url, tables=["ST_PPTN_R"], **filters)
        runner(ours_clean, tmp_path, src).run_once()
        assert [r[0] for r in stored_rain(ours_clean)] == expected
    finally:
        drop(remote, admin)


def test_a_wrong_password_is_reported_without_it(ours_clean, db, tmp_path, caplog) -> None:
    url, admin = db
    insert(admin, "ST_PPTN_R", [rain("61100001", hour_base(), 1.0)])
    wrong = "Wrong-pw_91xq"
    caplog.set_level(logging.DEBUG)
    result = poll_database(ours_clean, source(url), SecretStr(wrong), data_dir=tmp_path)
    assert result.summaries == [] and "password authentication failed" in result.error
    run = Runner(ours_clean, tmp_path, tmp_path / "inbox", [source(url)], passwords={})
    [failed] = run.run_once()
    assert failed.status == "rejected" and "unreachable" in failed.message
    assert run.state["prov"].failures == 1
    text = caplog.text + result.error + failed.message
    assert wrong not in text and PASSWORD not in text and "sl323reader" in text
    assert stored_rain(ours_clean) == []


def test_a_table_missing_at_the_remote_stops_the_poll_after_the_tables_before_it(
    ours_clean, db, tmp_path
) -> None:
    url, admin = db
    t0 = hour_base()
    insert(admin, "ST_PPTN_R", [rain("61100001", t0, 2.5)])
    with psycopg.connect(admin) as c:
        c.execute("DROP TABLE st_river_r")
    run = runner(ours_clean, tmp_path, source(url))
    loaded, failed = run.run_once()
    assert loaded.status == "loaded" and failed.status == "rejected"
    assert "the remote database has no table ST_RIVER_R" in failed.message
    assert stored_rain(ours_clean) == [("61100001", utc(t0), 2.5)]
    assert rows_of(ours_clean, "SELECT sl323_table FROM sl323_db_mark") == [("ST_PPTN_R",)]


def test_a_station_clock_running_ahead_does_not_move_the_mark_past_now(
    ours_clean, db, tmp_path
) -> None:
    url, admin = db
    ahead = rain("61100001", hour_base(0) + 6 * H, 1.0)  # within the checks' slack: it loads
    insert(admin, "ST_PPTN_R", [ahead])
    run = runner(ours_clean, tmp_path, source(url, overlap_s=0))
    run.run_once()
    [(mark,)] = rows_of(ours_clean, "SELECT tm FROM sl323_db_mark")
    assert mark < ahead["TM"] - 4 * H  # the poll's own now, not the row's time
    on_time = rain("61100002", (mark + timedelta(minutes=1)).replace(microsecond=0), 2.0)
    insert(admin, "ST_PPTN_R", [on_time])  # after the mark, before the clock that runs ahead
    run.run_once()
    assert stored_rain(ours_clean) == [
        ("61100002", utc(on_time["TM"]), 2.0),
        ("61100001", utc(ahead["TM"]), 1.0),
    ]
