"""`make bench`: every benchmark against its named peer, on a throwaway PostGIS cluster.

``python -m bench NAME ...`` (``make bench BENCH="NAME ..."``) runs only the benches named
(``python -m bench --list`` lists them), on the same kind of throwaway cluster. Every bench records
its measures as rows (bench/results.py); at the end one table is printed and written as JSON
(``bench/results/latest.json``, or ``BENCH_JSON``) with the machine described (bench/report.py).
``BENCH_QUICK=1`` runs a small version of every bench (bench/README.md).
"""

from __future__ import annotations

import importlib
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

from bench import fixtures, report, results, served
from bench.common import free_port
from bench.databases import make_template, throwaway_cluster
from riskmap.geo.db.cluster import EmbeddedCluster
from riskmap.geo.db.migrate import migrate


def _bench(module: str) -> ModuleType:
    """A bench's module, imported when it runs: the set-up's processes (spawned: each imports
    this module first) and ``--list`` do not pay for every bench's libraries."""
    return importlib.import_module(f"bench.{module}")


def benches(url: str, tcp_url: str) -> list[tuple[str, str, Callable[[], Iterator[str]]]]:
    """(name, title, bench) of every benchmark, in the order ``make bench`` runs them."""
    villages = int(os.environ.get("BENCH_VILLAGES") or results.scaled(25_000, 500))
    return [
        ("bulk", "bulk load (demo tables)",
         lambda: _bench("bulk_load").run(url, villages=villages)),
        ("stations", "station rows (SL 323)", lambda: _bench("station_rows").run(url)),
        ("grid", "new grid → village rainfall", lambda: _bench("zonal_grid").run(url)),
        ("zonal", "zonal statistics at scale", lambda: _bench("zonal_scale").run(url)),
        ("rules", "all built-in rules", lambda: _bench("rules_speed").run(url)),
        ("tiles", "vector tiles vs tipg", lambda: _bench("tiles").run(url, tcp_url)),
        ("warnings", "warning list under 200 clients vs a static file",
         lambda: _bench("warnings_latency").run(url, tcp_url)),
        ("instances", "warning list and village tiles through nginx: 1 vs 2 API instances",
         lambda: _bench("instances").run(url, tcp_url)),
        ("web", "web pages in Chromium vs a bare MapLibre page", lambda: _bench("web").run(url)),
        ("delivery", "warning delivery vs a bare httpx sender",
         lambda: _bench("delivery").run(url)),
        ("city", "city size (衡阳市, every county): rules, tiles, warning list",
         lambda: _bench("city").run(url, tcp_url)),
        ("archive", "rain archive → village annual maxima on Dask (1, 2 workers) vs exactextract",
         lambda: _bench("archive").run(url)),
        ("writes", "writes (rules run, ingest, update, issue) under 50 tile clients vs alone",
         lambda: _bench("writes_under_load").run(url, tcp_url)),
        ("ws_alarms", "work-safety alarms: synthetic month, raw crossings vs alarms, recall,"
         " engine vs a pandas rolling check", lambda: _bench("ws_alarms").run(url)),
        ("worksafety", "HJ 212 readings over TCP into PostGIS vs a bare COPY",
         lambda: _bench("worksafety_ingest").run(url)),
    ]  # fmt: skip


def main(names: list[str]) -> None:
    known = [name for name, _, _ in benches("", "")]
    if names == ["--list"]:
        print("\n".join(f"{n:<9} {t}" for n, t, _ in benches("", "")))
        return
    unknown = [n for n in names if n not in known]
    if unknown:
        sys.exit(f"unknown bench {', '.join(unknown)}; one of: {', '.join(known)}")
    # stopped (SIGTERM): unwind as on Ctrl-C, so servers stop and the cluster goes
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started_at = datetime.now(UTC)
    load_start = report.load_average()
    results.clear()
    walls: dict[str, dict] = {}
    info = report.machine(None)
    base = Path(tempfile.mkdtemp(prefix="riskmap-bench-", dir="/tmp"))
    os.chmod(base, 0o755)
    run_started = time.perf_counter()
    fixtures.preload(names)  # quick: the data jobs' modules, imported while the cluster starts
    fixtures.start_tools(names, base)  # tipg's venv, the floor page: while the cluster starts
    # a loopback TCP port too: the tile benches' peer (tipg) refuses socket-only URLs
    cluster = EmbeddedCluster(base / "pg", fast_unsafe=False, tcp_port=free_port())
    try:
        url = cluster.up()
        throwaway_cluster()  # destroyed at the end (the quick run leaves its databases till then)
        if results.quick():
            _no_checkpoint_during(url)
        migrate(url)
        if not make_template(url):  # every bench's new database a copy (bench/databases.py)
            print("(no template database: each bench migrates its own)", flush=True)
        print(f"(cluster up and migrated in {time.perf_counter() - run_started:.0f} s)")
        fixtures.start_data(url, cluster.tcp_url_for(), names)  # quick: the shared data
        info = report.machine(url)
        for line in fixtures.wait_builds():
            print(f"({line})", flush=True)
        # quick: the servers the benches would start one by one, started now; each answers
        # before the first bench (the full run: a checkpoint, so that what the set-up wrote
        # is not flushed during a bench)
        early_at = time.perf_counter()
        lines = served.start_early(url, cluster.tcp_url_for(), names)
        lines += [] if results.quick() else list(fixtures.checkpoint(url))
        lines += served.wait_early()
        for line in lines:
            print(f"({line})", flush=True)
        if served.started():
            print(f"(early servers: {time.perf_counter() - early_at:.0f} s)")
        setup_s = time.perf_counter() - run_started
        for name, title, bench in benches(url, cluster.tcp_url_for()):
            if names and name not in names:
                continue
            walls[name] = _run_one(name, title, bench)
    finally:
        served.close()  # the quick run's shared server, before its database goes
        cluster.destroy()
        shutil.rmtree(base, ignore_errors=True)
    doc = report.document(
        results.rows(),
        machine=info,
        benches=walls,
        quick=results.quick(),
        started=started_at,
        load_start=load_start,
        load_end=report.load_average(),
        setup_seconds=setup_s,
    )
    path = report.write(doc, Path(os.environ.get("BENCH_JSON") or report.LATEST))
    mode = "quick run (BENCH_QUICK=1)" if results.quick() else "full run"
    report.show(results.rows(), title=f"riskmap benchmarks, {mode}")
    total = sum(w["seconds"] for w in walls.values())
    print(
        f"{len(walls)} benches in {total:.0f} s (after {setup_s:.0f} s of set-up; the whole"
        f" run {time.perf_counter() - run_started:.0f} s); load average {load_start} at the"
        f" start, {doc['load_average']['end']} at the end; written to {path}",
        flush=True,
    )


def _no_checkpoint_during(url: str) -> None:
    """The quick run (a few minutes, a few GB of WAL at most) on a cluster that checkpoints
    neither by time nor by WAL size: no checkpoint writes during a bench, and none needed
    after the set-up (it took 10–12 s of the quick run's two minutes)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET max_wal_size = '32GB'")
        conn.execute("ALTER SYSTEM SET checkpoint_timeout = '1h'")
        conn.execute("SELECT pg_reload_conf()")


def _run_one(name: str, title: str, bench: Callable[[], Iterator[str]]) -> dict:
    """Run one bench, printing its lines as they come; a bench that raises leaves a failed row
    in the table (and its traceback here) and the others still run."""
    print(f"== {title}", flush=True)
    started = time.perf_counter()
    before = len(results.rows())
    ok = True
    try:
        for line in bench():
            print(f"   {line}", flush=True)
    except Exception as exc:
        ok = False
        traceback.print_exc()
        results.failed(name, exc)
    else:
        if len(results.rows()) == before:  # a bench that measured nothing says so in the table
            results.record(results.Row(name, "no measure recorded", None, "", passed=False))
            ok = False
    seconds = time.perf_counter() - started
    print(f"   ({seconds:.0f} s)", flush=True)
    return {"seconds": round(seconds, 1), "ok": ok, "title": title}


if __name__ == "__main__":
    main(sys.argv[1:])
