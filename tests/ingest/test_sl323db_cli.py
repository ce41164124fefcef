"""The SL 323 database source in the real `riskmap ingest run` (processes, not the Runner
class): ``--once`` twice, then the loop while the remote PostgreSQL is stopped mid-poll and
started again, and the runner SIGKILLed and started again. Nothing is missing or stored twice,
and the password given in RISKMAP_SOURCE_PASSWORDS never shows in what the runner writes.

The remote stays away RISKMAP_SOAK_SL323_OUTAGE_S seconds (3 in `make test`; `make soak`: 60).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from riskmap.geo.db.cluster import EmbeddedCluster
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
from tests.reliability.serving import spawn, wait_until

OUTAGE_S = float(os.environ.get("RISKMAP_SOAK_SL323_OUTAGE_S", "3"))
RISKMAP = str(Path(sys.executable).parent / "riskmap")
H = timedelta(hours=1)
M = timedelta(minutes=10)


@pytest.fixture(scope="module")
def remote() -> Iterator[EmbeddedCluster]:
    yield from remote_cluster("riskmap-sl323-cli-")


@contextlib.contextmanager
def setting_up(ours_cluster: EmbeddedCluster, remote: EmbeddedCluster) -> Iterator[dict]:
    """Our database, a remote database, a data folder with sources.yaml, the environment."""
    tmp = make_scratch_dir("sl323db-cli-")
    ours = our_database(ours_cluster, tmp)
    url, admin = remote_database(remote)
    (tmp / "sources.yaml").write_text(
        "sources:\n"
        "  - name: prov\n"
        "    kind: sl323-db\n"
        f"    url: '{url}'\n"
        "    interval_s: 1\n"
        "    overlap_s: 7200\n"
        "    page_rows: 2\n"
        "    timeout_s: 60\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKMAP_")}
    env |= {
        "RISKMAP_DATABASE_URL": ours,
        "RISKMAP_DATA_DIR": str(tmp),
        "RISKMAP_SOURCE_PASSWORDS": json.dumps({"prov": PASSWORD}),
    }
    try:
        yield {"ours": ours, "admin": admin, "env": env, "tmp": tmp}
    finally:
        remote.up()  # should a test have failed while it was down
        ours_cluster.up()
        drop(remote, admin)
        drop(ours_cluster, ours)
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def world(pg_cluster: EmbeddedCluster, remote: EmbeddedCluster) -> Iterator[dict]:
    """Our side on the session cluster."""
    with setting_up(pg_cluster, remote) as made:
        yield made


@pytest.fixture
def own_world(remote: EmbeddedCluster) -> Iterator[tuple[dict, EmbeddedCluster]]:
    """Our side on a cluster of this test's own, which it may stop."""
    base = make_scratch_dir("sl323db-ourpg-")
    cluster = EmbeddedCluster(base / "pg", fast_unsafe=True)
    cluster.up()
    try:
        with setting_up(cluster, remote) as made:
            yield made, cluster
    finally:
        cluster.destroy()
        shutil.rmtree(base, ignore_errors=True)


def run_once(world: dict) -> str:
    done = subprocess.run(
        [RISKMAP, "ingest", "run", "--once"],
        env=world["env"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return done.stdout + done.stderr


def stored(ours: str, table: str, value: str) -> list[tuple]:
    return rows_of(ours, f"SELECT stcd, tm, {value} FROM {table} ORDER BY tm, stcd")


def loaded_once(ours: str, table: str) -> bool:
    """Every stored row was loaded by exactly one ingest (their counts add up to the rows)."""
    [(total,)] = rows_of(
        ours,
        "SELECT coalesce(sum((tables->>%s)::int), 0) FROM ingest_log"
        " WHERE source LIKE 'sl323-db:%%'",
        table,
    )
    [(rows,)] = rows_of(ours, f"SELECT count(*) FROM {table}")
    return total == rows


def rain(stcd: str, tm: datetime, drp: float) -> dict:
    return {"STCD": stcd, "TM": tm, "DRP": drp, "INTV": 1.0}


def test_once_twice_reads_on_from_the_mark_and_runs_the_rules(world) -> None:
    ours, admin = world["ours"], world["admin"]
    t0 = hour_base()
    insert(admin, "ST_PPTN_R", [rain("61100001", t0, 3.0), rain("61100001", t0 + H, 7.5)])
    insert(admin, "ST_RSVR_R", [{"STCD": "61100003", "TM": t0, "RZ": 187.5, "W": 3.9}])
    first = run_once(world)
    # one page of rain, one of the reservoir: the rules run after them
    assert "sl323-db:prov/ST_PPTN_R" in first and "(after 2 loads)" in first, first
    insert(admin, "ST_PPTN_R", [rain("61100001", t0 + 2 * H, 1.0)])
    second = run_once(world)
    assert stored(ours, "rain_obs", "drp") == [
        ("61100001", utc(t0), 3.0),
        ("61100001", utc(t0 + H), 7.5),
        ("61100001", utc(t0 + 2 * H), 1.0),
    ]
    assert stored(ours, "reservoir_obs", "rz") == [("61100003", utc(t0), 187.5)]
    assert loaded_once(ours, "rain_obs") and loaded_once(ours, "reservoir_obs")
    assert "(after 1 loads)" in second and PASSWORD not in first + second


def test_the_remote_stopped_mid_poll_and_the_runner_killed_lose_and_double_nothing(
    world, remote: EmbeddedCluster
) -> None:
    ours, admin, tmp = world["ours"], world["admin"], world["tmp"]
    log = tmp / "runner.log"
    t0 = hour_base(12)
    expect_rain = [rain("61100001", t0 + k * H, 1.0 + k) for k in range(3)]
    expect_river = [{"STCD": "61100002", "TM": t0 + k * H, "Z": 200.0 + k} for k in range(3)]
    insert(admin, "ST_PPTN_R", expect_rain)
    insert(admin, "ST_RIVER_R", expect_river)

    def holds(table: str, value: str, rows: list[dict], key: str) -> bool:
        want = sorted((r["STCD"], utc(r["TM"]), r[key]) for r in rows)
        return stored(ours, table, value) == want

    proc = spawn([RISKMAP, "ingest", "run"], world["env"], log)
    try:
        wait_until(lambda: holds("river_obs", "z", expect_river, "Z"), 60, "the first rows")
        more = [rain("61100001", t0 + 3 * H, 4.0)]
        insert(admin, "ST_PPTN_R", more)
        expect_rain += more
        wait_until(lambda: holds("rain_obs", "drp", expect_rain, "DRP"), 60, "the next rain")
        # a poll blocks reading ST_RIVER_R (after ST_PPTN_R), and the remote stops under it
        lock = psycopg.connect(admin)
        lock.execute("LOCK TABLE st_river_r IN ACCESS EXCLUSIVE MODE")
        wait_until(lambda: blocked(admin), 60, "a poll waiting on ST_RIVER_R")
        assert remote.down()
        lock.close()  # ended by the stop, its lock with it
        time.sleep(OUTAGE_S)  # the fault itself: the runner tries and fails meanwhile
        assert proc.poll() is None, log.read_text()
        remote.up()
        later = [rain("61100001", t0 + 4 * H, 5.0), rain("61100001", t0 + 2 * H + M, 0.5)]
        river = [{"STCD": "61100002", "TM": t0 + 3 * H + M, "Z": 203.5}]
        bad = [{"STCD": "61100002", "TM": t0 + 4 * H, "Z": -99.0}]  # a no-data sentinel
        insert(admin, "ST_PPTN_R", later)
        insert(admin, "ST_RIVER_R", river + bad)
        expect_rain += later
        expect_river += river
        wait_until(lambda: holds("rain_obs", "drp", expect_rain, "DRP"), 60, "rain after it")
        wait_until(lambda: holds("river_obs", "z", expect_river, "Z"), 60, "river after it")
        wait_until(lambda: quarantined(ours) == 1, 30, "the sentinel quarantined")
        # killed and started again: it reads on from the marks
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
        last = [rain("61100001", t0 + 5 * H, 6.0), rain("61100001", t0 + 3 * H + M, 0.2)]
        insert(admin, "ST_PPTN_R", last)
        expect_rain += last
        proc = spawn([RISKMAP, "ingest", "run"], world["env"], log)
        wait_until(lambda: holds("rain_obs", "drp", expect_rain, "DRP"), 60, "rain after a kill")
        beat = heartbeat_at(ours)
        wait_until(lambda: heartbeat_at(ours) >= beat + 3, 60, "three more seconds of passes")
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(30)
    assert holds("rain_obs", "drp", expect_rain, "DRP")
    assert holds("river_obs", "z", expect_river, "Z")
    assert loaded_once(ours, "rain_obs") and loaded_once(ours, "river_obs")
    assert quarantined(ours) == 1
    assert rows_of(ours, "SELECT sl323_table, tm FROM sl323_db_mark ORDER BY 1") == [
        ("ST_PPTN_R", t0 + 5 * H),
        ("ST_RIVER_R", t0 + 4 * H),
    ]
    text = log.read_text()
    outage = text.index("source prov unreachable")
    assert re.search(r"rules: .* \(after [1-9]\d* loads\)", text[outage:])  # after the return
    assert PASSWORD not in text
    texts = rows_of(ours, "SELECT concat(source, message) FROM ingest_log")
    texts += rows_of(ours, "SELECT concat(source, record, reason, raw) FROM quarantine")
    assert not [t for (t,) in texts if PASSWORD in t]


def blocked(admin: str) -> bool:
    """The reader's query waits for a lock at the remote: a poll is in its ST_RIVER_R read."""
    [(n,)] = rows_of(
        admin,
        "SELECT count(*) FROM pg_stat_activity WHERE usename = 'sl323reader'"
        " AND wait_event_type = 'Lock'",
    )
    return n == 1


def quarantined(ours: str) -> int:
    return rows_of(ours, "SELECT count(*) FROM quarantine WHERE source LIKE 'sl323-db:%'")[0][0]


def heartbeat_at(ours: str) -> float:
    """The ingest heartbeat's time (each pass of the runner writes it), in seconds."""
    rows = rows_of(ours, "SELECT extract(epoch FROM last_seen) FROM service_heartbeat")
    return float(rows[0][0]) if rows else 0.0


def test_our_database_stopped_mid_poll_loses_and_doubles_nothing(own_world) -> None:
    world, ours_cluster = own_world
    ours, admin, tmp = world["ours"], world["admin"], world["tmp"]
    log = tmp / "runner.log"
    t0 = hour_base(12)
    expect_rain = [rain("61100001", t0 + k * H, 1.0 + k) for k in range(3)]
    expect_river = [{"STCD": "61100002", "TM": t0, "Z": 200.0}]
    insert(admin, "ST_PPTN_R", expect_rain)
    insert(admin, "ST_RIVER_R", expect_river)

    def holds(table: str, value: str, rows: list[dict], key: str) -> bool:
        want = sorted((r["STCD"], utc(r["TM"]), r[key]) for r in rows)
        return stored(ours, table, value) == want

    proc = spawn([RISKMAP, "ingest", "run"], world["env"], log)
    try:
        wait_until(lambda: holds("river_obs", "z", expect_river, "Z"), 60, "the first rows")
        more = [{"STCD": "61100002", "TM": t0 + H, "Z": 201.0}]
        insert(admin, "ST_RIVER_R", more)
        expect_river += more
        # a poll waits on ST_RIVER_R; our database stops; the read goes on into a dead store
        lock = psycopg.connect(admin)
        lock.execute("LOCK TABLE st_river_r IN ACCESS EXCLUSIVE MODE")
        wait_until(lambda: blocked(admin), 60, "a poll waiting on ST_RIVER_R")
        assert ours_cluster.down()
        lock.close()
        wait_until(lambda: "database unavailable" in log.read_text(), 60, "the failed store")
        time.sleep(OUTAGE_S)
        assert proc.poll() is None, log.read_text()
        later = [rain("61100001", t0 + 3 * H, 4.0), rain("61100001", t0 + H + M, 0.5)]
        insert(admin, "ST_PPTN_R", later)
        expect_rain += later
        ours_cluster.up()
        wait_until(lambda: holds("rain_obs", "drp", expect_rain, "DRP"), 60, "rain after it")
        wait_until(lambda: holds("river_obs", "z", expect_river, "Z"), 60, "river after it")
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(30)
    assert loaded_once(ours, "rain_obs") and loaded_once(ours, "river_obs")
    assert rows_of(ours, "SELECT sl323_table, tm FROM sl323_db_mark ORDER BY 1") == [
        ("ST_PPTN_R", t0 + 3 * H),
        ("ST_RIVER_R", t0 + H),
    ]
    assert PASSWORD not in log.read_text()
