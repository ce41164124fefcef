"""Writes under map load: a rules run, a grid ingest, a one-row update and an issued warning,
alone and while 50 map clients hammer the village tiles of a real ``riskmap serve`` (2 workers)
on the same cores.

Database: the demo county as ``riskmap demo`` leaves it (its storm replayed to end at the current
hour, the rules run through it) with its risk maps built (the tiles carry them), in a database of
its own on the bench cluster. ``BENCH_WRITES_VILLAGES`` gives the county more villages (heavier
tiles); default: the demo county's own.

The writes, each timed from the caller's side and committed:

a. **rules run** — ``run_cycle`` at the current time (what ``riskmap rules run`` does after its
   start-up), committed;
b. **grid ingest** — ``ingest_file`` of a new 90×90 rain-grid NetCDF over the county (weights in
   memory: the steady case of a feed delivering grids), committed;
c. **one-row update** — the tiles bench's data change (one village's risk row; it empties every
   worker's tile cache), committed;
d. **issue** — ``POST /api/warnings/{id}/issue`` by a forecaster over HTTP on a candidate made
   for it (keep-alive client; the write empties every worker's tile cache, as in use).

Two servers over the same database, one loaded at a time: the product as configured ("writes
first", api/tiles/admission.py) and the same with that protection turned off
(``RISKMAP_TILE_WRITE_PAUSE_MS=0``, ``RISKMAP_TILE_DB_NICE=0``: for village tiles, the code as it
was before), so before and after are measured in one run. Phases: the tiles alone under wrk on
each server (``CLIENTS`` keep-alive connections cycling the village tiles of zooms 8–14 over the
county: changing z/x/y) for their throughput; then, in ``CYCLES`` cycles so that the machine's
other load falls on every phase alike, the writes unloaded, the writes while wrk loads the first
server, the writes while wrk loads the second (``ROUNDS`` rounds of a–d per phase in all).
Reported: p50/p99 of each write unloaded and loaded and their ratio (target: loaded p99 within
2× unloaded p99), the tile throughput with and without the writes, and what the database
sessions were doing during the loaded phases: ``pg_stat_activity`` sampled every ``SAMPLE_S``
(wait event per kind of session: tile render, API statement, the bench's writers; "CPU" =
active with no wait event, i.e. running or waiting for a core; "idle in transaction" = the
database waits for its client), plus the Linux scheduler's accounting (``/proc/PID/schedstat``)
of the writers' own backends: time on a CPU against time runnable but waiting for one.

``BENCH_WRITES_TILE_CACHE_MB``: the server's tile cache (default: the product's default;
``0`` makes every tile request render, the heaviest database load).
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from tempfile import mkdtemp
from typing import ClassVar

import httpx
import psycopg
from psycopg import sql

from bench.common import free_port, with_db

ROOT = Path(__file__).resolve().parents[1]
COUNTY = "431226"
WORKERS = 2
CLIENTS = 50
ROUNDS = int(os.environ.get("BENCH_WRITES_ROUNDS", "16"))
CYCLES = 4
RAMP_S = 1.5
TILES_ALONE_S = 10
SAMPLE_S = 0.025
TARGET = 2.0
WRK_SCRIPT = ROOT / "bench" / "wrk_paths.lua"


# --------------------------------------------------------------------------- set-up


def _build_db(url: str, name: str, villages: int | None) -> tuple[str, Path]:
    """A database of its own with the demo county as ``riskmap demo`` leaves it, risk built."""
    from rich.console import Console

    from riskmap.api.cli.common import DEFAULT_SEED
    from riskmap.api.cli.demo_load import load_demo
    from riskmap.geo.db.migrate import migrate
    from riskmap.geo.risk.build import build_risk
    from riskmap.geo.risk.catalogue import catalogued_dem
    from riskmap.geo.settings import Settings

    with psycopg.connect(with_db(url, "postgres"), autocommit=True) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    db = with_db(url, name)
    migrate(db)
    data = Path(mkdtemp(prefix="riskmap-bench-writes-", dir="/tmp"))
    os.chmod(data, 0o755)
    settings = Settings(data_dir=data, rules_dir=None)
    quiet = Console(quiet=True)
    load_demo(settings, db, COUNTY, villages, DEFAULT_SEED, quiet, with_scenario=True)
    with psycopg.connect(db) as conn:
        build_risk(conn, catalogued_dem(conn, COUNTY), county=COUNTY)
        conn.commit()
        conn.execute("SELECT tile_refresh(%s)", [[COUNTY]])
        conn.execute("ANALYZE")
        conn.commit()
    return db, data


def _candidates(db: str, n: int) -> list[int]:
    """``n`` new candidate warnings, each of a rule of its own (nothing merges into them) over a
    village of its own, held long enough that no rules run ends them."""
    from riskmap.geo.warnings import lifecycle
    from riskmap.geo.warnings.proposal import Proposal

    now = datetime.now(UTC)
    made = []
    with psycopg.connect(db) as conn:
        # villages no issued red rainstorm warning covers: there a new red one is a candidate
        # (not suppressed as already warned at that level)
        codes = [
            r[0]
            for r in conn.execute(
                "SELECT code FROM village v WHERE NOT EXISTS (SELECT FROM warning w"
                " WHERE w.status = 'issued' AND w.hazard = 'rainstorm' AND w.colour = 'red'"
                " AND v.code = ANY(w.village_codes)) ORDER BY random()"
            )
        ]
        if len(codes) < n:
            raise RuntimeError(f"{len(codes)} villages without an open warning, {n} needed")
        for i in range(n):
            picked = (codes[i],)
            p = Proposal(
                rule_id=f"bench.writes.{uuid.uuid4().hex[:10]}",
                rule_version="1",
                hazard="rainstorm",
                colour="red",
                at=now,
                village_codes=picked,
                evidence={v: {"rain_3h": 88.5, "threshold": 80.0} for v in picked},
                event_zh="暴雨",
                event_en="Rainstorm",
                headline_zh="基准测试暴雨红色预警",
                headline_en="Bench rainstorm warning (red)",
                description_zh="基准测试用。",
                description_en="For the bench.",
                instruction_zh="注意防范。",
                instruction_en="Take care.",
                severity="Extreme",
                hold_hours=720,
            )
            (change,) = lifecycle.apply_proposals(conn, [p], now, actor="bench")
            assert change.status == "candidate", change
            made.append(change.warning_id)
        conn.commit()
    return made


def _start_server(db: str, data: Path, port: int, log: Path, **extra: str) -> subprocess.Popen:
    import sys

    env = {
        **os.environ,
        "RISKMAP_DATABASE_URL": db,
        "RISKMAP_DATA_DIR": str(data),
        "RISKMAP_LOG_LEVEL": "warning",
        "RISKMAP_WRITE_RATE_LIMIT": "100000/minute",
    }
    env.update({f"RISKMAP_{k.upper()}": v for k, v in extra.items()})
    argv = [str(Path(sys.executable).parent / "riskmap"), "serve", "--host", "127.0.0.1"]
    argv += ["--port", str(port), "--workers", str(WORKERS)]
    return subprocess.Popen(
        argv, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True
    )


def _wait_ready(base: str, proc: subprocess.Popen, log: Path, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"riskmap serve exited ({proc.returncode}); see {log}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{base} not ready after {seconds:.0f} s")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


# --------------------------------------------------------------------------- load


class Wrk:
    """wrk (C, epoll) cycling ``paths`` with ``CLIENTS`` connections until :meth:`stop` (SIGINT:
    wrk stops and prints its summary); the load generator takes almost no CPU."""

    running: ClassVar[list[Wrk]] = []  # stopped by the bench's clean-up if it fails meanwhile

    def __init__(self, base: str, paths: list[str], headers: dict[str, str], folder: Path):
        listing = folder / "paths.txt"
        listing.write_text("\n".join(paths) + "\n")
        argv = ["wrk", "-t2", f"-c{CLIENTS}", "-d3600s", "-s", str(WRK_SCRIPT)]
        for k, v in headers.items():
            argv += ["-H", f"{k}: {v}"]
        self.argv = [*argv, base, "--", str(listing), "2"]
        self.proc: subprocess.Popen | None = None

    def start(self) -> Wrk:
        self.proc = subprocess.Popen(
            self.argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        Wrk.running.append(self)
        return self

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> dict:
        import json

        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)
        out, err = self.proc.communicate(timeout=60)
        Wrk.running.remove(self)
        lines = [x for x in out.splitlines() if x.startswith("{")]
        if not lines:
            raise RuntimeError(f"wrk printed no summary: {err.strip()[-300:]}")
        result = json.loads(lines[-1])
        result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
        return result


def _tile_paths(db: str) -> list[str]:
    from bench.tiles import _tile_list

    with psycopg.connect(db) as conn:
        bounds = conn.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM"
            " (SELECT ST_Extent(geom) AS e FROM admin_unit WHERE code = %s) x",
            [COUNTY],
        ).fetchone()
    return [f"/tiles/villages/{t.z}/{t.x}/{t.y}.mvt" for t in _tile_list(bounds)]


# --------------------------------------------------------------------------- evidence


KINDS = {"riskmap-tile-render": "tile render", "riskmap-api": "API (issue, token checks)"}


def _kind(app: str) -> str:
    if app.startswith("bench-"):
        return app.removeprefix("bench-")
    return KINDS.get(app, app or "other")


class Sampler:
    """``pg_stat_activity`` of the bench database every ``SAMPLE_S``: (kind of session, what it
    was doing) counted, for sessions not idle."""

    QUERY = """
        SELECT application_name, state, wait_event_type, wait_event
        FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid()
          AND backend_type = 'client backend' AND state <> 'idle'
    """

    def __init__(self, db: str) -> None:
        self.db = db
        self.counts: Counter[tuple[str, str]] = Counter()
        self.samples = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Sampler:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        with psycopg.connect(self.db, autocommit=True, application_name="sampler") as conn:
            while not self._stop.wait(SAMPLE_S):
                self.samples += 1
                for app, state, wtype, wevent in conn.execute(self.QUERY):
                    if state == "active":
                        what = f"{wtype}:{wevent}" if wtype else "CPU (running or runnable)"
                    else:
                        what = state  # idle in transaction: the client is working
                    self.counts[(_kind(app or ""), what)] += 1

    def lines(self) -> Iterator[str]:
        per_kind: dict[str, Counter[str]] = {}
        for (kind, what), n in self.counts.items():
            per_kind.setdefault(kind, Counter())[what] += n
        for kind, whats in sorted(per_kind.items(), key=lambda kv: -kv[1].total()):
            total = whats.total()
            top = ", ".join(f"{w} {n / total:.0%}" for w, n in whats.most_common(5))
            busy = total / max(1, self.samples)
            yield f"  {kind}: {busy:.1f} sessions busy on average; {top}"


def _schedstat(pid: int, tid: int | None = None) -> tuple[float, float]:
    """(seconds on a CPU, seconds runnable but waiting for one) of a process or thread."""
    path = f"/proc/{pid}/task/{tid}/schedstat" if tid else f"/proc/{pid}/schedstat"
    try:
        run, wait, _ = Path(path).read_text().split()
    except (OSError, ValueError):
        return 0.0, 0.0
    return int(run) / 1e9, int(wait) / 1e9


# --------------------------------------------------------------------------- the writes


# bench/tile_client.py's data change: one village's risk row, which empties every tile cache
UPDATE_ONE_ROW = (
    "UPDATE village_risk SET computed_at = now() WHERE (village_code, hazard) ="
    " (SELECT village_code, hazard FROM village_risk ORDER BY 1, 2 LIMIT 1)"
)


class Writes:
    """The writes, each timed; the schedulers' accounting of the writers' backends."""

    def __init__(self, db: str, token: str, candidates: list[int], grids: Path):
        from riskmap.geo.settings import Settings

        self.rules_conn = psycopg.connect(db, application_name="bench-rules run")
        self.ingest_conn = psycopg.connect(db, application_name="bench-grid ingest")
        self.update_conn = psycopg.connect(db, application_name="bench-one-row update")
        self.token = token
        self.clients: dict[str, httpx.Client] = {}
        self.candidates = iter(candidates)
        self.grids = grids
        self.store = grids / "store"
        self.settings = Settings(data_dir=grids)
        self.grid_no = 0
        self.sched: dict[tuple[str, str], list[tuple[float, float]]] = {}

    def close(self) -> None:
        self.rules_conn.close()
        self.ingest_conn.close()
        self.update_conn.close()
        for client in self.clients.values():
            client.close()

    def _timed(self, phase: str, name: str, pid: int, work: Callable[[], None]) -> float:
        b0 = _schedstat(pid)
        t0 = time.perf_counter()
        work()
        elapsed = time.perf_counter() - t0
        b1 = _schedstat(pid)
        self.sched.setdefault((phase, name), []).append((b1[0] - b0[0], b1[1] - b0[1]))
        return elapsed

    def rules(self, phase: str) -> float:
        from riskmap.geo.warnings.cycle import run_cycle

        conn = self.rules_conn

        def work() -> None:
            run_cycle(conn, datetime.now(UTC), self.settings.rule_dirs, self.settings.plan_dirs)
            conn.commit()

        return self._timed(phase, "rules run", conn.info.backend_pid, work)

    def ingest(self, phase: str) -> float:
        from bench.zonal_grid import _write_grid
        from riskmap.ingest.pipeline import ingest_file

        self.grid_no += 1
        path = _write_grid(self.grids / f"grid-{self.grid_no}.nc", self.grid_no, self.grid_no)
        conn = self.ingest_conn

        def work() -> None:
            summary = ingest_file(conn, path, data_dir=self.store, kind="rain-grid")
            assert summary.status == "loaded", summary.message

        return self._timed(phase, "grid ingest", conn.info.backend_pid, work)

    def update(self, phase: str) -> float:
        conn = self.update_conn

        def work() -> None:
            conn.execute(UPDATE_ONE_ROW)
            conn.commit()

        return self._timed(phase, "one-row update", conn.info.backend_pid, work)

    def issue(self, base: str) -> float:
        if base not in self.clients:  # keep-alive, as a forecaster's browser
            auth = {"Authorization": f"Bearer {self.token}"}
            self.clients[base] = httpx.Client(base_url=base, headers=auth, timeout=60)
        wid = next(self.candidates)
        t0 = time.perf_counter()
        r = self.clients[base].post(f"/api/warnings/{wid}/issue", json={"reason": "bench"})
        elapsed = time.perf_counter() - t0
        assert r.status_code == 200, r.text
        return elapsed

    def round(self, phase: str, base: str, into: dict[str, list[float]]) -> None:
        into.setdefault("rules run", []).append(self.rules(phase))
        into.setdefault("grid ingest", []).append(self.ingest(phase))
        into.setdefault("one-row update", []).append(self.update(phase))
        into.setdefault("issue (HTTP)", []).append(self.issue(base))


def _p(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


# --------------------------------------------------------------------------- the bench


# the server under load: the product's defaults, and the same with the protection turned off
# (no writes-first gate, tile backends at full priority: how it was before, for village tiles)
VARIANTS = {
    "writes first": {},
    "protection off": {"tile_write_pause_ms": "0"},
}


def _merge(results: list[dict]) -> dict:
    """wrk results of several passes as one: throughput over all, the worst percentiles."""
    requests = sum(r["requests"] for r in results)
    seconds = sum(r["duration_us"] for r in results) / 1e6
    out = {"rps": requests / seconds, "errors": sum(r["errors"] for r in results)}
    for key in ("p50_us", "p99_us", "max_us"):
        out[key] = max(r[key] for r in results)
    return out


def run(url: str) -> Iterator[str]:
    """Yield report lines (see the module docstring)."""
    import shutil

    from riskmap.api.users import add_user, new_token

    if shutil.which("wrk") is None:
        yield "wrk not installed (make bench installs it): nothing measured"
        return
    villages = os.environ.get("BENCH_WRITES_VILLAGES")
    name = f"bench_writes_{uuid.uuid4().hex[:8]}"
    logs = Path(mkdtemp(prefix="riskmap-bench-writes-logs-", dir="/tmp"))
    procs: list[subprocess.Popen] = []
    writes = None
    data = None
    try:
        db, data = _build_db(url, name, int(villages) if villages else None)
        with psycopg.connect(db, autocommit=True) as conn:
            add_user(conn, "bench-forecaster", "forecaster")
            add_user(conn, "bench-viewer", "viewer")
            forecaster = new_token(conn, "bench-forecaster", label="bench")
            viewer = new_token(conn, "bench-viewer", label="bench")
            n_villages = conn.execute("SELECT count(*) FROM village").fetchone()[0]
        candidates = _candidates(db, (len(VARIANTS) + 1) * (ROUNDS + 2))
        extra = {}
        if "BENCH_WRITES_TILE_CACHE_MB" in os.environ:
            extra["tile_cache_mb"] = os.environ["BENCH_WRITES_TILE_CACHE_MB"]
        bases: dict[str, str] = {}
        for i, (variant, settings) in enumerate(VARIANTS.items()):
            port = free_port()
            bases[variant] = f"http://127.0.0.1:{port}"
            log = logs / f"serve-{i}.log"
            procs.append(_start_server(db, data, port, log, **extra, **settings))
        for i, (proc, base) in enumerate(zip(procs, bases.values(), strict=True)):
            _wait_ready(base, proc, logs / f"serve-{i}.log")
        paths = _tile_paths(db)
        auth = {"Authorization": f"Bearer {viewer}"}
        yield (
            f"{n_villages:,} villages; {len(paths):,} village tiles (zooms 8–14) cycled by"
            f" {CLIENTS} wrk clients; riskmap serve, {WORKERS} workers"
            + (f", tile cache {extra['tile_cache_mb']} MB" if extra else "")
            + f"; {ROUNDS} rounds of the writes per phase, in {CYCLES} cycles"
        )
        writes = Writes(db, forecaster, candidates, data)
        first = next(iter(bases.values()))
        warm: dict[str, list[float]] = {}
        writes.round("warm", first, warm)  # weights of the grid, plans, the HTTP connection
        alone: dict[str, dict] = {}
        for variant, base in bases.items():
            writes.issue(base)
            Wrk(base, paths, auth, logs).start()
            time.sleep(3)  # first renders of the list
            Wrk.running[-1].stop()
            load = Wrk(base, paths, auth, logs).start()
            time.sleep(TILES_ALONE_S)
            alone[variant] = load.stop()

        # phases interleaved in cycles: the machine's other load (it is shared) falls on all
        timings: dict[str, dict[str, list[float]]] = {"unloaded": {}}
        timings |= {variant: {} for variant in bases}
        samplers = {variant: Sampler(db) for variant in bases}
        during: dict[str, list[dict]] = {variant: [] for variant in bases}
        per_cycle = max(1, ROUNDS // CYCLES)
        for cycle in range(CYCLES):
            for _ in range(per_cycle):
                writes.round("unloaded", first, timings["unloaded"])
            order = list(bases.items())  # each variant first in turn: no order effect
            for variant, base in order[cycle % len(order) :] + order[: cycle % len(order)]:
                load = Wrk(base, paths, auth, logs).start()
                time.sleep(RAMP_S)
                with samplers[variant]:
                    for _ in range(per_cycle):
                        writes.round(variant, base, timings[variant])
                during[variant].append(load.stop())

        unloaded = timings["unloaded"]
        worst = 0.0
        for write, u in unloaded.items():
            yield (
                f"{write}: unloaded p50 {_p(u, 50) * 1000:.0f} ms, p99 {_p(u, 99) * 1000:.0f} ms"
            )
            for variant in bases:
                lo = timings[variant][write]
                ratio = _p(lo, 99) / _p(u, 99)
                if variant == "writes first":
                    worst = max(worst, ratio)
                yield (
                    f"  under {CLIENTS} tile clients, {variant}: p50 {_p(lo, 50) * 1000:.0f} ms,"
                    f" p99 {_p(lo, 99) * 1000:.0f} ms -> loaded/unloaded p50"
                    f" {_p(lo, 50) / _p(u, 50):.1f}x, p99 {ratio:.1f}x (target ≤ {TARGET:.0f}x)"
                )
        for variant in bases:
            for label, r in (
                ("alone", alone[variant]),
                ("during the writes", _merge(during[variant])),
            ):
                yield (
                    f"tiles {label}, {variant}: {r['rps']:,.0f} tiles/s,"
                    f" p50 {r['p50_us'] / 1000:.1f} ms, p99 {r['p99_us'] / 1000:.1f} ms,"
                    f" max {r['max_us'] / 1000:.0f} ms, {r['errors']} errors"
                )
        for (phase, write), pairs in writes.sched.items():
            if phase == "warm":
                continue
            on_cpu = sum(p[0] for p in pairs) / len(pairs)
            waiting = sum(p[1] for p in pairs) / len(pairs)
            yield (
                f"{write}, its backend, {phase} (schedstat, mean per write): on a CPU"
                f" {on_cpu * 1000:.0f} ms, runnable waiting for a CPU {waiting * 1000:.0f} ms"
            )
        for variant, sampler in samplers.items():
            n = sampler.samples
            yield f"pg_stat_activity during the loaded writes, {variant} ({n} samples):"
            yield from sampler.lines()
        verdict = "met" if worst <= TARGET else "NOT met"
        yield (
            f"writes first: worst loaded/unloaded p99 {worst:.1f}x:"
            f" target ≤ {TARGET:.0f}x {verdict}"
        )
        shutil.rmtree(logs, ignore_errors=True)  # kept when something failed: the servers' logs
    finally:
        for load in list(Wrk.running):
            load.kill()
        if writes is not None:
            writes.close()
        for proc in procs:
            _stop(proc)
        with psycopg.connect(with_db(url, "postgres"), autocommit=True) as c:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            c.execute(drop.format(sql.Identifier(name)))
        if data is not None:
            shutil.rmtree(data, ignore_errors=True)
