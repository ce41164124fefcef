"""Latency of the public warning list ``GET /api/warnings`` under 200 concurrent clients, against
the same response bytes served as a static file by uvicorn (the HTTP floor) in the same run.

Database: the demo county as ``riskmap demo`` leaves it (``load_demo``: its storm placed to end
at the current hour and the rules run hour by hour through its 14 hours), then every candidate
issued, so the public list (warnings in force *now*) holds the warnings still open with their
areas. The storm is placed by the clock because the list is: replayed on its bundled July date,
every warning has long expired and the list would be empty (``measure`` refuses an empty
list). ``measure`` runs the same on any database, e.g. a whole city (bench/city.py).

Servers: riskmap (``api.app:create_app``) and the peer (a bare Starlette app returning the
bytes riskmap answered, same media type) each run by uvicorn with ``WORKERS`` worker processes,
measured one after the other so they never share the CPU.

Load: a separate process (so the clients do not steal the server's event loop) running
``CLIENTS`` keep-alive HTTP/1.1 connections on asyncio (uvloop) with a minimal request writer
and response reader: httpx or aiohttp spend more CPU per request than the server under test,
which on a 2-core machine would make the generator the bottleneck; Debian's ``ab`` needs
``apache2-utils`` and cannot pace requests. Two runs per server:

- **paced**: every client sends one request every ``1 / RATE_PER_CLIENT`` s (random phase), so
  the offered load is fixed; latency is counted from the *scheduled* send time, so a stalled
  server is not hidden by clients that wait (no coordinated omission). Target: p99 < 100 ms.
- **saturated**: every client sends its next request as soon as the previous answer arrives;
  reports the throughput both servers reach with 200 clients in flight.

Also reported: the list's SQL alone through psycopg on one connection (what PostGIS costs), and
riskmap saturated with a new URL on every request (``?nocache=N``), which the per-worker page
cache (keyed by the warning table's fingerprint and the URL) can never answer: the cost of a
page right after a warning changed.

Run alone: ``python -m bench.warnings_latency POSTGRES_URL`` (a server riskmap may create
databases on); ``make bench`` runs it on its throwaway cluster.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from tempfile import mkdtemp
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

from bench import served
from bench.common import free_port, with_db
from bench.databases import demo_storm
from bench.results import Row, below, quick, record, scaled
from bench.servers import start_uvicorn, wait_ok

ROOT = Path(__file__).resolve().parents[1]
COUNTY = "431226"
WORKERS = 2
CLIENTS = 200
RATE_PER_CLIENT = 2.0  # requests per second per client: 400 req/s offered
DURATION_S = scaled(15.0, 1.0)
WARM_S = scaled(3.0, 0.2)
COLD_S = scaled(10.0, 0.5)
OPEN_S = scaled(0.5, 0.2)  # the clients' connections open before the load starts
PATH = "/api/warnings"
TARGET_P99_MS = 100.0


def _build_db(url: str) -> tuple[str, int]:
    """A database of its own holding the demo county as ``riskmap demo`` leaves it (its storm
    replayed to end at the current hour, the rules run through it), every candidate issued."""
    name = f"bench_warnings_{uuid.uuid4().hex[:8]}"
    tmp = Path(mkdtemp(prefix="riskmap-bench-warnings-"))
    os.chmod(tmp, 0o755)
    db = demo_storm(url, name, tmp, risk=False)
    with psycopg.connect(db) as conn:
        return db, issue_candidates(conn)


def issue_candidates(conn: psycopg.Connection) -> int:
    """Issue every candidate warning now (as a duty officer would); the number in force now,
    which the public list shows (committed). A candidate whose hold time ran out meanwhile (the
    storm is placed by the clock: an hour that turns during the build ages the first ones) is
    refused as stale, as it would be for the officer, and left a candidate."""
    from riskmap.geo.errors import ConflictError
    from riskmap.geo.warnings import lifecycle

    candidates = conn.execute("SELECT id FROM warning WHERE status = 'candidate'").fetchall()
    for (wid,) in candidates:
        try:
            with conn.transaction():
                lifecycle.issue(conn, wid, "bench", "bench: publish the storm's candidates")
        except ConflictError:
            continue
    conn.execute("ANALYZE")  # as autovacuum would have by now
    conn.commit()
    return conn.execute(
        "SELECT count(*) FROM warning WHERE status = 'issued' AND expires_at > now()"
    ).fetchone()[0]


def static_app():
    """The peer: the bytes of riskmap's answer (``BENCH_STATIC_FILE``) on the same path."""
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    path = Path(os.environ["BENCH_STATIC_FILE"])
    body: list[bytes] = []  # read on the first request (the warm-up's): the server starts
    # beside riskmap's, before riskmap's answer is written there

    async def page(request) -> Response:
        if not body:
            body.append(path.read_bytes())
        return Response(body[0], media_type="application/geo+json")

    async def healthz(request) -> Response:  # up (for a server started early, before the file)
        return Response(b"ok")

    return Starlette(routes=[Route(PATH, page), Route("/healthz", healthz)])


def _static_server(port: int, static: Path, log: Path) -> subprocess.Popen:
    """The peer's uvicorn on ``port``, serving ``static`` (read when first asked)."""
    env = {"BENCH_STATIC_FILE": str(static)}
    return start_uvicorn("bench.warnings_latency:static_app", port, env, log, WORKERS)


def start_static(folder: Path) -> list:
    """The peer's server started early (the quick run's set-up, bench/served.py): the file it
    serves, ``folder``/warnings.geojson, is written by :func:`measure` before it is asked."""
    from bench.served import Early

    port, static = free_port(), folder / "warnings.geojson"
    proc = _static_server(port, static, folder / "static.log")
    return [Early(f"http://127.0.0.1:{port}", proc, folder / "static.log", {"file": static})]


def _load(port: int, mode: str, *, warm: bool = False) -> dict:
    """Run the load generator in its own process (with ``warm``: the warm-up load first, in
    the same process); the JSON summary of ``mode``."""
    return _loads(port, [mode], warm=warm)[mode]


def _loads(port: int, modes: list[str], *, warm: bool = False) -> dict[str, dict]:
    """The loads ``modes`` one after the other in one load-generator process (with ``warm``:
    the warm-up load first); mode → its JSON summary."""
    cmd = [sys.executable, "-m", "bench.http_load", str(port), ",".join(modes)]
    cmd += ["warm"] if warm else []
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, check=True)
    return json.loads(out.stdout)


SQL_REPEATS = scaled(200, 20)


def _sql_alone(db: str, repeats: int = SQL_REPEATS) -> float:
    """p50 seconds of the list's SQL on one psycopg connection (the public default query)."""
    from riskmap.geo.db.sqlfiles import load_sql

    params = {
        "public": True, "area": None, "statuses": ["issued"], "colours": None, "hazards": None,
        "rules": None,
        "village": None, "xmin": None, "ymin": None, "xmax": None, "ymax": None, "start": None,
        "end": None, "limit": 20, "offset": 0, "tolerance": 0.0001,
        "base": "http://127.0.0.1/api/warnings/",
    }  # fmt: skip
    query = load_sql("riskmap.api.sql", "warnings_list.sql")
    times = []
    with psycopg.connect(db) as conn:
        for _ in range(repeats):
            t0 = time.perf_counter()
            conn.execute(query, params).fetchone()
            times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def _line(label: str, s: dict) -> str:
    return (
        f"{label}: {s['rps']:,.0f} req/s, p50 {s['p50_ms']:.1f} ms, p99 {s['p99_ms']:.1f} ms,"
        f" max {s['max_ms']:.0f} ms, {s['n']:,} requests, {s['errors']} errors"
    )


def run(url: str, tcp_url: str | None = None) -> Iterator[str]:
    """Yield report lines: the data, both servers paced and saturated, the ratios."""
    if quick():  # the served county (bench/served.py): its database and its riskmap serve
        t0 = time.perf_counter()
        county = served.county(url, tcp_url or url)
        yield (
            f"the served county (demo storm, warnings issued; riskmap serve --workers"
            f" {served.WORKERS}), ready in {time.perf_counter() - t0:.0f} s"
        )
        yield from measure(county.db, ours=(county.port, county.proc), peer=served.take("static"))
        return
    t0 = time.perf_counter()
    db, issued = _build_db(url)
    built = time.perf_counter() - t0
    try:
        yield f"demo storm database with {issued} warnings in force built in {built:.0f} s"
        yield from measure(db)
    finally:
        with psycopg.connect(with_db(url, "postgres"), autocommit=True) as c:
            name = urlsplit(db).path.lstrip("/")
            c.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def measure(
    db: str,
    *,
    bench: str = "warnings",
    scope: str = "",
    ours: tuple[int, subprocess.Popen] | None = None,
    peer: list | None = None,
    paced_only: bool = False,
) -> Iterator[str]:
    """Both servers paced and saturated on a database already holding issued warnings (the
    demo county's storm above, or a whole city: bench/city.py); the list must not be empty.
    Rows go to ``bench``'s table, their measures prefixed by ``scope``. ``ours``: riskmap's
    server (port, process) already running over ``db``, else one is started; ``peer``: the
    static file's server already running (:func:`start_static`), else one is started.
    ``paced_only``: the paced pass and its target only (the quick run's city)."""
    logs = Path(mkdtemp(prefix="riskmap-bench-warnings-logs-"))
    procs: list[subprocess.Popen] = []
    try:
        peer_port = free_port()
        static = logs / "warnings.geojson"
        if peer is not None:  # started in the quick run's set-up (bench/served.py)
            peer_port, static, peer_proc = peer[0].port, peer[0].extra["file"], peer[0].proc
            procs.append(peer_proc)
        if ours is None:
            ours_port = free_port()
            env = {"RISKMAP_DATABASE_URL": db, "RISKMAP_DATA_DIR": str(logs / "data")}
            ours_proc = start_uvicorn(
                "riskmap.api.app:create_app", ours_port, env, logs / "riskmap.log", WORKERS
            )
            procs.append(ours_proc)
        else:
            ours_port, ours_proc = ours
        if peer is None:  # both servers start at once; the peer reads the file when first asked
            peer_proc = _static_server(peer_port, static, logs / "static.log")
            procs.append(peer_proc)
        body = wait_ok(f"http://127.0.0.1:{ours_port}{PATH}", ours_proc)
        static.write_bytes(body)
        features = len(json.loads(body)["features"])
        assert features, "the public warning list is empty: nothing to measure"
        assert wait_ok(f"http://127.0.0.1:{peer_port}{PATH}", peer_proc) == body
        yield (
            f"GET {PATH} (public, default page): {features} features, {len(body) / 1024:.0f} KB;"
            f" {CLIENTS} clients, {WORKERS} uvicorn workers each, load from a separate process"
            + (" (riskmap: the served county's riskmap serve)" if ours else "")
        )
        sql_p50 = _sql_alone(db)
        yield f"the list's SQL alone (psycopg, 1 connection): p50 {sql_p50 * 1000:.1f} ms"
        offered = CLIENTS * RATE_PER_CLIENT
        results = {}
        if quick():  # one load process per server, warmed once: paced, then saturated
            # right after, on the loaded server
            for who, port, modes in (
                ("static file", peer_port, ["paced", "saturated"][: 1 if paced_only else 2]),
                ("riskmap", ours_port, ["paced", "saturated"][: 1 if paced_only else 2]),
            ):
                for mode, s in _loads(port, modes, warm=True).items():
                    results[who, mode] = s
        for mode in ("paced",) if paced_only else ("paced", "saturated"):
            for who, port in (("static file", peer_port), ("riskmap", ours_port)):
                if (who, mode) not in results:
                    results[who, mode] = _load(port, mode, warm=True)
                s = results[who, mode]
                label = f"{who:<11} {mode} ({offered:.0f} req/s offered)" if mode == "paced" else (
                    f"{who:<11} {mode}"
                )  # fmt: skip
                yield _line(label, s)
        ours, peer = results["riskmap", "paced"], results["static file", "paced"]
        verdict = "met" if ours["p99_ms"] < TARGET_P99_MS and not ours["errors"] else "MISSED"
        p50x, p99x = ours["p50_ms"] / peer["p50_ms"], ours["p99_ms"] / peer["p99_ms"]
        yield (
            f"riskmap vs static file at {offered:.0f} req/s: p50 {p50x:.1f}x, p99 {p99x:.1f}x;"
            f" riskmap p99 {ours['p99_ms']:.0f} ms"
            f" (target < {TARGET_P99_MS:.0f} ms: {verdict})"
        )
        page = f"{scope}GET {PATH} ({features} warnings)"
        record(
            Row(
                bench,
                f"{page}, {CLIENTS} clients at {offered:.0f} req/s: p99",
                ours["p99_ms"],
                "ms",
                "static file p99 (uvicorn)",
                peer["p99_ms"],
                target=f"< {TARGET_P99_MS:.0f} ms",
                passed=below(ours["p99_ms"], TARGET_P99_MS) and not ours["errors"],
                extra={
                    "p50_ms": ours["p50_ms"],
                    "peer_p50_ms": peer["p50_ms"],
                    "errors": ours["errors"],
                    "sql_alone_p50_ms": sql_p50 * 1e3,
                },
            )
        )
        if paced_only:
            return
        sat_o, sat_p = results["riskmap", "saturated"], results["static file", "saturated"]
        record(
            Row(
                bench,
                f"{page}, {CLIENTS} clients saturated",
                sat_o["rps"],
                "req/s",
                "static file (uvicorn)",
                sat_p["rps"],
                extra={"errors": sat_o["errors"]},
            )
        )
        yield f"saturated throughput riskmap / static file: {sat_o['rps'] / sat_p['rps']:.2f}x"
        if quick():  # a smaller version: no pass with every URL new (it has no target)
            return
        cold = _load(ours_port, "cold")
        record(
            Row(
                bench,
                f"{page}, saturated, every URL new (page cache never hits)",
                cold["rps"],
                "req/s",
                "static file (uvicorn)",
                sat_p["rps"],
                extra={"p99_ms": cold["p99_ms"], "errors": cold["errors"]},
            )
        )
        yield _line("riskmap     saturated, every URL new (page cache never hits)", cold)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def _main(argv: list[str]) -> None:
    url = argv[0] if argv else os.environ["RISKMAP_DATABASE_URL"]
    for line in run(url):
        print(line, flush=True)


if __name__ == "__main__":
    _main(sys.argv[1:])
