"""SIGKILL the ingest runner (`riskmap ingest run --once`, a real process) at random points while
it works through an inbox of station tables (SL 323 CSV) and rain grids (NetCDF), restart it
until the inbox is empty: every observation is stored exactly once, each file has exactly one
ingest_log row whose per-table counts are the rows really stored under it, and every grid the
catalogue names lies whole in the data store with its village rain.

The expected rows come from reading the input files here (csv, netCDF4), not from the pipeline.
`make soak` runs the longer variant: RISKMAP_SOAK_KILLS kills (3 in `make test`), with a larger
inbox so that every kill lands mid-work.
"""

from __future__ import annotations

import csv
import hashlib
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import netCDF4
import psycopg
import pytest

from tests.conftest import ROOT, clone_database, drop_database
from tests.reliability.serving import wait_until

KILLS = int(os.environ.get("RISKMAP_SOAK_KILLS", "3"))
SCENARIO = ROOT / "data" / "scenarios" / "storm-431226"
SHIFT_DAYS = 120  # the storm of 14 July moved to November: rows no earlier ingest holds
WINDOW = "2026-09-01T00:00:00Z"  # everything this test loads lies after it
TABLES = {"ST_PPTN_R": "rain_obs", "ST_RIVER_R": "river_obs", "ST_RSVR_R": "reservoir_obs"}
RISKMAP = [sys.executable, "-m", "riskmap.api.cli"]


def _shift_csv(src: Path, dest: Path, days: int, keys: set[tuple[str, str]]) -> None:
    """``src`` with every TM moved by ``days``; the (STCD, TM) keys written go into ``keys``."""
    with src.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    tm = header.index("TM")
    stcd = header.index("STCD")
    for row in body:
        at = datetime.strptime(row[tm], "%Y-%m-%d %H:%M:%S") + timedelta(days=days)
        row[tm] = at.strftime("%Y-%m-%d %H:%M:%S")
        keys.add((row[stcd], row[tm]))
    with dest.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows([header, *body])


def _shift_grid(src: Path, dest: Path, days: int) -> int:
    """A copy of the NetCDF grid with its times moved by ``days``; returns its periods."""
    shutil.copyfile(src, dest)
    with netCDF4.Dataset(dest, "a") as nc:
        for name in ("time", "time_bnds", "forecast_reference_time"):
            if name in nc.variables:
                var = nc.variables[name]
                units = getattr(var, "units", nc.variables["time"].units)  # bounds: time's
                assert units.startswith("hours since"), units
                var[...] = var[...] + days * 24
        return len(nc.dimensions["time"])


def make_inbox(
    inbox: Path, shifts: int, until: str = "99999999"
) -> tuple[dict[str, int], int, list[Path]]:
    """The storm's station tables and grids (those named before ``until``), ``shifts`` times
    over (a day apart), in ``inbox``.

    Returns the distinct observations per table, the grid periods, and the files in the order
    they arrived (mtimes one apart, so the runner's order is the same every run)."""
    keys: dict[str, set[tuple[str, str]]] = {t: set() for t in TABLES.values()}
    periods = 0
    files = []
    for k in range(shifts):
        days = SHIFT_DAYS + k
        for src in sorted(p for p in SCENARIO.iterdir() if p.name < until):
            dest = inbox / f"d{days}_{src.name}"
            table = next((t for n, t in TABLES.items() if src.name.endswith(f"_{n}.csv")), None)
            if table is not None:
                _shift_csv(src, dest, days, keys[table])
            elif src.suffix == ".nc":
                periods += _shift_grid(src, dest, days)
            else:
                continue
            files.append(dest)
    start = time.time() - len(files) - 10
    for n, path in enumerate(files):
        os.utime(path, (start + n, start + n))
    return {t: len(v) for t, v in keys.items()}, periods, files


def pending(inbox: Path) -> list[Path]:
    return [p for p in inbox.iterdir() if p.is_file()]


def committed(url: str, inbox: Path) -> int:
    with psycopg.connect(url) as c:
        return c.execute(
            "SELECT count(*) FROM ingest_log WHERE source LIKE %s", [f"{inbox}/%"]
        ).fetchone()[0]


@pytest.fixture
def world(pg_cluster, storm_url, tmp_path):
    url = clone_database(pg_cluster, storm_url, "t_crash_ingest")
    yield url, tmp_path
    drop_database(pg_cluster, url)


def runner(
    url: str, data_dir: Path, inbox: Path, log: Path, *, rules: bool = False
) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKMAP_")}
    env |= {"RISKMAP_DATABASE_URL": url, "RISKMAP_DATA_DIR": str(data_dir)}
    argv = [*RISKMAP, "ingest", "run", "--once", "--inbox", str(inbox)]
    argv.append("--rules" if rules else "--no-rules")
    with log.open("a") as out:
        return subprocess.Popen(argv, env=env, cwd=ROOT, stdout=out, stderr=out)


def test_sigkill_at_random_points_loses_and_doubles_nothing(world):
    url, tmp = world
    data_dir, inbox, log = tmp / "data", tmp / "inbox", tmp / "ingest.log"
    inbox.mkdir()
    # enough files that every kill lands while there is still work (≥ 1 file per run): the
    # storm's first twelve hours for a few kills, the whole storm several times over for more
    if KILLS <= 5:
        expected, periods, files = make_inbox(inbox, 1, until="20260714T1300Z")
    else:
        expected, periods, files = make_inbox(inbox, math.ceil(KILLS / 25))
    assert sum(expected.values()) > 250 and periods > 10
    rng = random.Random(20261217)
    landed, progress = 0, []
    started = time.monotonic()
    for _ in range(KILLS):
        before = committed(url, inbox)
        proc = runner(url, data_dir, inbox, log)
        # once this run has committed something (start-up takes seconds on a busy machine), at
        # a random point after that: mid-file, between the commit and the archiving, mid-copy
        wait_until(
            lambda b=before, p=proc: committed(url, inbox) > b or p.poll() is not None,
            120,
            "the runner's first file",
            every=0.02,
        )
        time.sleep(rng.uniform(0.0, 0.5))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            landed += 1
        proc.wait(10)
        progress.append(len(pending(inbox)))
        if not pending(inbox):
            break
    proc = runner(url, data_dir, inbox, log)  # then one that may finish
    assert proc.wait(300) == 0, log.read_text()[-3000:]
    elapsed = time.monotonic() - started

    # the inbox is done: every file archived, none rejected
    assert not pending(inbox)
    archived = sorted(p.name for p in (inbox / "archive").rglob("*") if p.is_file())
    assert archived == sorted(p.name for p in files)
    assert not [p for p in (inbox / "rejected").rglob("*") if p.is_file()]

    with psycopg.connect(url) as c:
        # each file: exactly one ingest_log row, loaded whole
        logged = c.execute(
            "SELECT id, source, status, rows_loaded, rows_quarantined, tables FROM ingest_log"
            " WHERE source LIKE %s",
            [f"{inbox}/%"],
        ).fetchall()
        per_file = Counter(r[1] for r in logged)
        assert set(per_file) == {str(p) for p in files}
        assert max(per_file.values()) == 1, per_file.most_common(3)
        assert {r[2] for r in logged} == {"loaded"}, [r for r in logged if r[2] != "loaded"][:3]
        # every observation in the files, once (the tables' keys are the files' keys)
        for table, n in expected.items():
            stored = c.execute(f"SELECT count(*) FROM {table} WHERE tm >= %s", [WINDOW]).fetchone()
            assert stored[0] == n, (table, stored[0], n)
        # no file marked loaded without its rows: its counts are the rows stored under it
        ids = [r[0] for r in logged]
        for table in [*TABLES.values(), "grid_file"]:
            rows = dict(
                c.execute(
                    f"SELECT ingest_id, count(*) FROM {table} WHERE ingest_id = ANY(%s) GROUP BY 1",
                    [ids],
                ).fetchall()
            )
            claimed = {r[0]: r[5].get(table, 0) for r in logged if r[5].get(table)}
            assert rows == claimed, table
        # every grid period catalogued, its copy in the store whole, its village rain written
        grids = c.execute(
            "SELECT path, sha256 FROM grid_file WHERE valid_start >= %s", [WINDOW]
        ).fetchall()
        assert len(grids) == periods
        for path, sha in {(p, s) for p, s in grids}:
            assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == sha, path
        rained = c.execute(
            "SELECT count(*) FROM village_rain_grid WHERE valid_start >= %s", [WINDOW]
        ).fetchone()[0]
        assert rained == periods
    print(
        f"\ningest kills {landed}/{KILLS}: files left after each {progress}; {len(files)} files,"
        f" {sum(expected.values())} observations, {periods} grid periods; {elapsed:.1f} s"
    )


def rules_warnings(url: str, since: datetime) -> int:
    """Warnings the rules proposed since ``since``."""
    with psycopg.connect(url) as c:
        return c.execute(
            "SELECT count(*) FROM warning_audit WHERE actor = 'rules' AND action = 'propose'"
            " AND recorded_at >= %s",
            [since],
        ).fetchone()[0]


def test_a_kill_between_the_load_and_the_rules_loses_no_warning(world):
    """The runner loads a gauge file that calls for a rainstorm warning now and is killed once
    the load is committed, before its rules cycle: the restarted runner runs the rules."""
    url, tmp = world
    data_dir, inbox, log = tmp / "data", tmp / "inbox", tmp / "ingest.log"
    inbox.mkdir()
    with (SCENARIO / "20260714T0105Z_ST_PPTN_R.csv").open(newline="") as fh:
        stations = sorted({row["STCD"] for row in csv.DictReader(fh)})
    # 60 mm in each of the last two hours at every gauge (Beijing time, as SL 323 writes it)
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=8)
    path = inbox / "now_ST_PPTN_R.csv"
    with path.open("w", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(["STCD", "TM", "DRP", "INTV"])
        for h in (1, 0):
            at = (hour - timedelta(hours=h)).strftime("%Y-%m-%d %H:%M:%S")
            out.writerows([stcd, at, "60.0", "1.0"] for stcd in stations)
    since = datetime.now(UTC)
    assert rules_warnings(url, since) == 0
    proc = runner(url, data_dir, inbox, log, rules=True)
    with psycopg.connect(url, autocommit=True) as c:

        def loaded() -> bool:
            sql = "SELECT count(*) FROM ingest_log WHERE source = %s AND status = 'loaded'"
            return c.execute(sql, [str(path)]).fetchone()[0] == 1 or proc.poll() is not None

        wait_until(loaded, 120, "the gauge file loaded", every=0.005)
        proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert rules_warnings(url, since) == 0, "the kill came after the rules: nothing was tested"
    proc = runner(url, data_dir, inbox, log, rules=True)
    assert proc.wait(300) == 0, log.read_text()[-3000:]
    assert rules_warnings(url, since) >= 1, log.read_text()[-2000:]
