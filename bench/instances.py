"""Several API instances behind nginx: the warning list and village tiles through nginx with one
and with two ``riskmap serve`` instances on this machine, and what limits the gain.

Database: the demo county as ``riskmap demo`` leaves it, every candidate warning issued (the
warning-list bench's ``_build_db``), so the public list holds the warnings in force and the
village layer its risk levels. Servers: two ``riskmap serve --workers 2`` instances over that
database and one data directory (as deploy/nginx.conf describes), and nginx (Debian's package)
configured by deploy/nginx.conf itself (bench/nginx.py: ports rewritten, ``worker_processes
auto``, no access log) in front of the first instance, and a second nginx in front of both.

Load: wrk (C, ``CLIENTS`` keep-alive connections, two threads) sending what a browser sends
(``Accept-Encoding: gzip``, so nginx compresses as deployed) for ``SECONDS`` s, after a warm-up
that fills every worker's caches:

- the public warning list ``GET /api/warnings`` (default page);
- village tiles ``/tiles/villages/{z}/{x}/{y}.mvt`` with a viewer's token, every tile over the
  county at zooms 8–14 (the tiles bench's list) cycled.

Each workload runs against the first instance directly (no proxy: what nginx costs), nginx → 1
instance and nginx → 2 instances, ``ROUNDS`` times in turn (the best of each is kept: other load
on the machine only lowers a figure). Reported: req/s, p50/p99, errors, the ratio 2 instances /
1 instance, and where the CPU went during each run (read from /proc: the instances' processes,
PostgreSQL's, nginx's, wrk, anything else on the machine, idle) and the requests served per
core of that chain, from which the limit follows: a second instance brings workers, not cores;
it can only use what the first one left idle (or take CPU from other processes, which is no
scaling: the requests per core stay the same).

Run alone: ``python -m bench instances`` (its own throwaway cluster, as ``make bench``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from tempfile import mkdtemp
from urllib.parse import urlsplit

import httpx
import psycopg
from psycopg import sql

from bench import nginx, served, tile_client, tiles, warnings_latency
from bench.common import free_port, with_db
from bench.cpu_sample import GROUPS, CpuSample, processes
from bench.results import Row, quick, record, scaled
from bench.servers import stop as stop_server

ROOT = Path(__file__).resolve().parents[1]
WORKERS = 2  # per instance, as deploy/nginx.conf starts them
CLIENTS = 50
SECONDS = int(os.environ.get("BENCH_INSTANCES_SECONDS") or scaled(10, 1))
WARM_S = scaled(4, 1)  # wrk counts whole seconds
ROUNDS = int(os.environ.get("BENCH_INSTANCES_ROUNDS") or scaled(2, 1))
LIST = "/api/warnings"
BROWSER = {"Accept-Encoding": "gzip"}


def _cpu_line(cores: dict[str, float]) -> str:
    names = {
        "riskmap": "API instances",
        "postgres": "PostgreSQL",
        "load": "wrk",
        "other": "other processes",
    }
    return ", ".join(f"{names.get(g, g)} {cores.get(g, 0):.2f}" for g in GROUPS)


# ------------------------------------------------------------------------------ the servers


def _start_instance(port: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    argv = [str(Path(sys.executable).parent / "riskmap"), "serve", "--host", "127.0.0.1"]
    argv += ["--port", str(port), "--workers", str(WORKERS)]
    out = log.open("w")
    return subprocess.Popen(argv, env=env, cwd=ROOT, stdout=out, stderr=out)


def _wait(url: str, procs: list[subprocess.Popen], log: Path, seconds: float = 180) -> None:
    """Until ``url`` answers 200; an error with the end of ``log`` if a process exits or the
    time runs out (the bench's folder is removed afterwards)."""
    deadline = time.monotonic() + seconds
    answer = "nothing"
    while time.monotonic() < deadline:
        if any(proc.poll() is not None for proc in procs):
            break
        try:
            r = httpx.get(url, timeout=10)  # healthz lists migrations: slow on busy cores
            if r.status_code == 200:
                return
            answer = f"{r.status_code} {r.text[:300]}"
        except httpx.TransportError as exc:
            answer = repr(exc)
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-2000:] if log.is_file() else ""
    raise RuntimeError(f"{url} not ready (last answer: {answer}); {log.name}:\n{tail}")


def _postmaster(db: str) -> int:
    with psycopg.connect(db) as conn:  # while the backend lives
        backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        return processes()[backend][1]


# ------------------------------------------------------------------------------ the bench


def run(url: str, tcp_url: str | None = None) -> Iterator[str]:
    """Yield report lines (a database of its own on ``url``'s server, dropped afterwards; the
    quick run: the served county)."""
    if not nginx.available():
        record(Row("instances", "nginx passes", None, "", passed=False, note="nginx not installed"))
        yield f"nginx not installed ({nginx.NGINX}): make setup installs it; nothing measured"
        return
    if shutil.which("wrk") is None:
        record(Row("instances", "wrk passes", None, "", passed=False, note="wrk not installed"))
        yield "wrk not installed: make bench installs it; nothing measured"
        return
    if quick():  # the served county (bench/served.py): its riskmap serve is the first instance
        t0 = time.perf_counter()
        county = served.county(url, tcp_url or url)
        yield f"the served county ready in {time.perf_counter() - t0:.0f} s"
        yield from measure(county.db, first=county)
        return
    t0 = time.perf_counter()
    db, issued = warnings_latency._build_db(url)
    yield f"demo county with {issued} warnings in force built in {time.perf_counter() - t0:.0f} s"
    try:
        yield from measure(db)
    finally:
        with psycopg.connect(with_db(url, "postgres"), autocommit=True) as c:
            name = urlsplit(db).path.lstrip("/")
            c.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def measure(db: str, first: served.Served | None = None) -> Iterator[str]:
    """The passes over ``db``; ``first``: a ``riskmap serve`` already running over it (the
    quick run's served county) as the first instance, else both are started."""
    from riskmap.api.users import add_user, new_token

    with psycopg.connect(db, autocommit=True) as conn:
        add_user(conn, "bench-instances", "viewer")
        token = new_token(conn, "bench-instances", label="bench")
        bounds = conn.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM"
            " (SELECT ST_Extent(geom) AS e FROM admin_unit WHERE code = %s) x",
            [warnings_latency.COUNTY],
        ).fetchone()
        villages = conn.execute("SELECT count(*) FROM village").fetchone()[0]
    tile_paths = [f"/tiles/villages/{t.z}/{t.x}/{t.y}.mvt" for t in tiles._tile_list(bounds)]
    work = Path(mkdtemp(prefix="riskmap-bench-instances-"))
    os.chmod(work, 0o755)
    # one database and one data folder for both instances, as deploy/nginx.conf describes
    env = first.env if first is not None else served.instance_env(db, work)
    ports = [first.port if first is not None else free_port(), free_port()]
    proxies = {1: free_port(), 2: free_port()}
    procs: list[subprocess.Popen] = []
    logs = {p: work / f"serve-{p}.log" for p in ports}
    second = served.take("second") if first is not None else None  # started in the set-up
    try:
        servers = [] if first is None else [first.proc]
        if second is not None:
            ports[1], logs[ports[1]] = second[0].port, second[0].log
            servers.append(second[0].proc)
        servers += [_start_instance(p, env, logs[p]) for p in ports[len(servers) :]]
        procs += [s for s in servers if first is None or s is not first.proc]
        front = {
            n: nginx.start_nginx(work / f"nginx-{n}", proxies[n], ports[:n], workers="auto",
                                 access_log=False)
            for n in (1, 2)
        }  # fmt: skip
        procs += front.values()
        for p, s in zip(ports, servers, strict=True):
            log = first.log if first is not None and s is first.proc else logs[p]
            _wait(f"http://127.0.0.1:{p}/healthz", servers, log)
        for n, port in proxies.items():
            _wait(f"http://127.0.0.1:{port}/healthz", [front[n]], work / f"nginx-{n}" / "error.log")
        base = f"http://127.0.0.1:{proxies[1]}"
        plain = httpx.get(f"{base}{LIST}", timeout=30)
        packed = httpx.get(f"{base}{LIST}", headers=BROWSER, timeout=30)
        features = len(plain.json()["features"])
        assert features, "the public warning list is empty: nothing to measure"
        yield (
            f"{LIST}: {features} warnings, {len(plain.content) / 1024:.0f} KB"
            f" ({packed.headers.get('content-encoding', 'identity')}"
            f" {packed.num_bytes_downloaded / 1024:.0f} KB through nginx); village tiles:"
            f" {villages:,} villages, {len(tile_paths):,} tiles (zooms 8–14) cycled with a"
            " viewer's token"
        )
        yield (
            f"instances: riskmap serve --workers {WORKERS} each, nginx (deploy/nginx.conf,"
            f" worker_processes auto) in front; wrk {CLIENTS} clients, {SECONDS} s, gzip"
            f" accepted; best of {ROUNDS} rounds; {os.cpu_count()} cores on this machine"
        )
        roots = {
            "riskmap": [s.pid for s in servers],
            "postgres": [_postmaster(db)],
            "nginx": [f.pid for f in front.values()],
            "load": [os.getpid()],  # wrk and this process
        }
        targets = {
            "direct": f"http://127.0.0.1:{ports[0]}",
            "nginx → 1 instance": f"http://127.0.0.1:{proxies[1]}",
            "nginx → 2 instances": f"http://127.0.0.1:{proxies[2]}",
        }
        auth = {"Authorization": f"Bearer {token}"}
        workloads = {
            "warning list": ([LIST, LIST], BROWSER),  # one path per wrk thread
            "village tiles": (tile_paths, BROWSER | auth),
        }
        if quick():  # a smaller version: the warning list only
            del workloads["village tiles"]
        for what, (paths, headers) in workloads.items():
            best: dict[str, tuple[dict, dict[str, float]]] = {}
            for _ in range(ROUNDS):
                for label, target in targets.items():
                    # the quick run warms the second instance only: the first is the served
                    # county, warmed by the tiles and warning-list benches before this one
                    if not quick() or label == "nginx → 2 instances":
                        tile_client.wrk(
                            target, paths, headers, work, clients=CLIENTS, seconds=WARM_S
                        )
                    sample = CpuSample(roots, SECONDS)
                    r = tile_client.wrk(target, paths, headers, work, clients=CLIENTS,
                                        seconds=SECONDS)  # fmt: skip
                    cores = sample.result()
                    if label not in best or r["rps"] > best[label][0]["rps"]:
                        best[label] = (r, cores)
            for label, (r, cores) in best.items():
                yield (
                    f"{what}, {label}: {r['rps']:,.0f} req/s, p50 {r['p50_us'] / 1000:.1f} ms,"
                    f" p99 {r['p99_us'] / 1000:.1f} ms, {r['errors']} errors;"
                    f" cores busy: {_cpu_line(cores)}"
                )
            one, _ = best["nginx → 1 instance"]
            two, _ = best["nginx → 2 instances"]
            direct, _ = best["direct"]
            record(
                Row(
                    "instances",
                    f"{what}: nginx → 2 instances",
                    two["rps"],
                    "req/s",
                    "nginx → 1 instance",
                    one["rps"],
                    extra={
                        "p99_ms": two["p99_us"] / 1000,
                        "peer_p99_ms": one["p99_us"] / 1000,
                        "errors": two["errors"] + one["errors"],
                    },
                )
            )
            record(
                Row(
                    "instances",
                    f"{what}: nginx → 1 instance",
                    one["rps"],
                    "req/s",
                    "the instance directly (no proxy)",
                    direct["rps"],
                )
            )
            yield (
                f"{what}: 2 instances / 1 instance through nginx {two['rps'] / one['rps']:.2f}x"
                f" req/s, p99 {one['p99_us'] / 1000:.0f} → {two['p99_us'] / 1000:.0f} ms;"
                f" nginx → 1 instance / direct {one['rps'] / direct['rps']:.2f}x req/s"
            )
            yield _limit(what, best["nginx → 1 instance"], best["nginx → 2 instances"])
        logs = [work / f"nginx-{n}" / "error.log" for n in (1, 2)]
        failures = [
            line
            for log in logs
            if log.is_file()
            for line in log.read_text(errors="replace").splitlines()
            if "upstream" in line
        ]
        if failures:  # nginx marks an instance down for 2 s after one: the others get it all
            yield f"nginx logged {len(failures)} upstream errors, the first: {failures[0]}"
    finally:
        for proc in reversed(procs):  # all at once: each takes its time to shut down
            proc.terminate()
        for proc in reversed(procs):
            stop_server(proc)
        shutil.rmtree(work, ignore_errors=True)


def _ours(cores: dict[str, float]) -> float:
    """Cores the measured chain used: the instances, PostgreSQL, nginx and wrk."""
    return cores["riskmap"] + cores["postgres"] + cores["nginx"] + cores["load"]


def _limit(
    what: str, one: tuple[dict, dict[str, float]], two: tuple[dict, dict[str, float]]
) -> str:
    """What bounds the gain of a second instance, from where the CPU went in both runs: the
    work done per core of the whole chain says whether the second instance made anything
    cheaper, or only took more of the machine."""
    (r1, c1), (r2, c2) = one, two
    per1, per2 = r1["rps"] / max(_ours(c1), 1e-9), r2["rps"] / max(_ours(c2), 1e-9)
    return (
        f"{what}: the limit: {os.cpu_count()} cores shared by the API workers, PostgreSQL, nginx"
        f" and wrk. One instance's run used {_ours(c1):.2f} cores (API {c1['riskmap']:.2f},"
        f" PostgreSQL {c1['postgres']:.2f}, nginx {c1['nginx']:.2f}, wrk {c1['load']:.2f};"
        f" idle {c1['idle']:.2f}, other processes {c1['other']:.2f}): {per1:,.0f} req/s per"
        f" core; two instances' {_ours(c2):.2f} cores (idle {c2['idle']:.2f}, other processes"
        f" {c2['other']:.2f}): {per2:,.0f} req/s per core ({per2 / per1:.2f}x). A second"
        " instance brings workers, not cores: with no core left idle it can only take CPU from"
        " other processes, so any gain here is that share, not scaling; instances add"
        " throughput where cores (or machines) are idle with one"
    )


def _main() -> None:
    """``python -m bench.instances``: its own throwaway cluster."""
    from riskmap.geo.db.cluster import EmbeddedCluster
    from riskmap.geo.db.migrate import migrate

    base = Path(mkdtemp(prefix="riskmap-bench-", dir="/tmp"))
    os.chmod(base, 0o755)
    cluster = EmbeddedCluster(base / "pg")
    try:
        url = cluster.up()
        migrate(url)
        for line in run(url):
            print(line, flush=True)
    finally:
        cluster.destroy()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    _main()
