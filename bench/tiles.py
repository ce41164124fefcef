"""Vector tiles of the village layer: riskmap's ``/tiles/villages/{z}/{x}/{y}.mvt`` against tipg
1.6 (developmentseed, FastAPI + asyncpg + ST_AsMVT) serving the same villages from the same
PostGIS database in the same run.

Both servers get the same tile list (every tile over the demo county at zooms 8–14, a fixed
sample where a zoom has more than ``PER_ZOOM_MAX`` tiles), the same number of uvicorn workers,
the same MVT extent (4096) and buffer (64), and 50 concurrent HTTP/1.1 keep-alive clients. The
county gets ``BENCH_TILE_VILLAGES`` (default 3,000) villages with their risk maps built, so that
low-zoom tiles carry real weight and our tiles their real attributes. Both servers are warmed
first on zoom-15 tiles that are not in the list (connection pools, plans, page cache).

Passes:

1. **first render**: each tile asked for once, by a bare HTTP/1.1 client on uvloop in a process
   of its own (it shares the two cores with the servers): throughput, tile sizes and bytes.
2. **under wrk** (C, epoll; the list cycled for ``WRK_SECONDS``; the load generator takes
   almost no CPU, so latencies are the servers'): tipg (it renders every request); riskmap
   with no tile cache (``RISKMAP_TILE_CACHE_MB=0``, a second server: every request renders,
   the cold case held for ten seconds); riskmap with its tile cache ("shared view": many
   people watching one county); and riskmap with its cache while a village's risk row changes
   every ``CHANGE_EVERY_S`` seconds (each change empties every worker's cache, as a rules run
   does, and the tiles render again under full load).

tipg is asked for the attributes it can give (code, name, township code); riskmap's tiles also
carry the three risk levels, their maximum, the warning colour and the township name. Reported:
tiles/s and their ratio (target ≥ 3× tipg), p50/p99 latency (target p99 < 50 ms), and tile
sizes (ours must stay under 500 KB; our outlines are simplified per zoom band, tipg sends them
at full detail).

tipg lives in its own virtualenv (``.venv-bench-tipg``, created on first use with pip) so the
peer's dependencies never enter riskmap's; the load generator is this module run there too
(``python -m bench.tiles --load``), so everything above ``run`` imports only the standard
library (uvloop if the venv has it). tipg refuses socket-only database URLs, so the bench
cluster listens on a loopback TCP port (``EmbeddedCluster(tcp_port=…)``).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from tempfile import mkdtemp
from urllib.parse import urlsplit

from bench.common import free_port, with_db

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "data" / "boundaries" / "hunan_demo.geojson"
TIPG_VENV = ROOT / ".venv-bench-tipg"
TIPG_REQUIREMENT = "tipg==1.6.*"
COUNTY = "431226"
ZOOMS = range(8, 15)
PER_ZOOM_MAX = 600
CONCURRENCY = 50
WORKERS = 2
TIPG_COLLECTION = "public.village"


def ensure_tipg() -> Path:
    """The tipg virtualenv's python, creating the venv with pip on first use."""
    python = TIPG_VENV / "bin" / "python"
    probe = [str(python), "-c", "import tipg, uvicorn, uvloop"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    # away from the checkout: pip would see riskmap's egg-info on the path and complain
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run([sys.executable, "-m", "venv", str(TIPG_VENV)], check=True, cwd="/", env=clean)
    pip = [str(python), "-m", "pip", "install", "--quiet", TIPG_REQUIREMENT, "uvicorn", "uvloop"]
    subprocess.run(pip, check=True, cwd="/", env=clean)
    return python


def _load_county(url: str, villages: int) -> tuple[float, float, float, float]:
    """Generate and load the demo county; build its tile outlines; return its bounds."""
    import psycopg

    from riskmap.geo.demo.county import generate
    from riskmap.geo.demo.load import load
    from riskmap.geo.risk.build import build_risk
    from riskmap.geo.risk.catalogue import catalogued_dem

    demo = generate(
        COUNTY,
        villages=villages,
        seed=11,
        bundled_path=BUNDLED,
        out_dir=Path(mkdtemp(prefix="riskmap-bench-tiles-")),
        roster_start=datetime(2026, 7, 1, tzinfo=UTC),
    )
    with psycopg.connect(url) as conn:
        load(conn, demo)
        conn.commit()
        # risk levels on every village, as the tiles carry them in use
        build_risk(conn, catalogued_dem(conn, COUNTY), county=COUNTY)
        conn.commit()
        conn.execute("ANALYZE")
        conn.commit()
        box = conn.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM"
            " (SELECT ST_Extent(geom) AS e FROM admin_unit WHERE code = %s) x",
            [COUNTY],
        ).fetchone()
    return tuple(box)


def _tile_list(bounds: tuple[float, float, float, float]) -> list:
    import morecantile

    tms = morecantile.tms.get("WebMercatorQuad")
    rng = random.Random(20260714)
    tiles: list[morecantile.Tile] = []
    for z in ZOOMS:
        at_z = list(tms.tiles(*bounds, zooms=[z]))
        tiles += at_z if len(at_z) <= PER_ZOOM_MAX else rng.sample(at_z, PER_ZOOM_MAX)
    rng.shuffle(tiles)
    return tiles


def _tipg_path(t) -> str:
    return (
        f"/collections/{TIPG_COLLECTION}/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}"
        "?properties=code,name,township_code"
    )


def _warm_list(bounds: tuple[float, float, float, float]) -> list:
    """Zoom-15 tiles over the county: warm-up requests that are not in the measured list."""
    import morecantile

    tms = morecantile.tms.get("WebMercatorQuad")
    return random.Random(7).sample(list(tms.tiles(*bounds, zooms=[15])), 150)


def _wait_ready(url: str, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before it was ready")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"server at {url} not ready after {timeout:.0f} s")


def _start_riskmap(db_url: str, port: int, log: Path, **settings: str) -> subprocess.Popen:
    env = {**os.environ, "RISKMAP_DATABASE_URL": db_url, "RISKMAP_LOG_LEVEL": "warning"}
    env.update({f"RISKMAP_{k.upper()}": v for k, v in settings.items()})
    argv = [str(Path(sys.executable).parent / "riskmap"), "serve", "--host", "127.0.0.1"]
    argv += ["--port", str(port), "--workers", str(WORKERS)]
    return subprocess.Popen(argv, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


def _start_tipg(python: Path, tcp_url: str, port: int, log: Path) -> subprocess.Popen:
    from riskmap.geo.settings import Settings

    env = {
        **os.environ,
        "DATABASE_URL": tcp_url,
        "TIPG_DB_SCHEMAS": '["public"]',
        "TIPG_DB_TABLES": f'["{TIPG_COLLECTION}"]',
        "TIPG_TILE_BUFFER": "64",
        "TIPG_TILE_RESOLUTION": "4096",
        "TIPG_MAX_FEATURES_PER_TILE": "100000",
    }
    # at the niceness riskmap's workers take (RISKMAP_API_NICE): the same priority against
    # PostgreSQL and the load generator
    nice = ["nice", "-n", str(Settings().api_nice)]
    argv = [*nice, str(python), "-m", "uvicorn", "tipg.main:app", "--host", "127.0.0.1"]
    argv += ["--port", str(port), "--workers", str(WORKERS), "--log-level", "warning"]
    return subprocess.Popen(argv, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


_LENGTH = re.compile(rb"(?i)\r\ncontent-length:\s*(\d+)")
_CHUNKED = re.compile(rb"(?i)\r\ntransfer-encoding:\s*chunked")


async def _read_body(reader: asyncio.StreamReader, head: bytes) -> bytes:
    if _CHUNKED.search(head):
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
            parts.append(await reader.readexactly(size + 2))
            if size == 0:
                return b"".join(parts)[:-2]
    length = _LENGTH.search(head)
    return await reader.readexactly(int(length.group(1))) if length else b""


async def _hammer(
    base: str, paths: list[str], headers: dict[str, str]
) -> tuple[float, list[float], list[int], int]:
    """Fetch every path with CONCURRENCY keep-alive clients; (seconds, latencies, sizes, errors).

    A bare HTTP/1.1 client on asyncio streams (uvloop when present): the load shares the two
    cores with both servers, so it must cost far less per request than they do (aiohttp cost
    about as much as a cached tile)."""
    host, port = urlsplit(base).hostname, urlsplit(base).port
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    tail = f" HTTP/1.1\r\nHost: {host}:{port}\r\n{extra}\r\n".encode()
    todo = iter(paths)
    latencies: list[float] = []
    sizes: list[int] = []
    errors = 0

    async def client() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for path in todo:
                t0 = time.perf_counter()
                writer.write(b"GET " + path.encode() + tail)
                head = await reader.readuntil(b"\r\n\r\n")
                body = await _read_body(reader, head)
                latencies.append(time.perf_counter() - t0)
                status = head[9:12]
                if status == b"200" and body:
                    sizes.append(len(body))
                elif status not in (b"200", b"204"):  # 204 / empty 200: an empty tile
                    errors += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
    return time.perf_counter() - started, latencies, sizes, errors


def _load(
    python: Path, base: str, paths: list[str], headers: dict[str, str]
) -> tuple[float, list[float], list[int], int]:
    """Run :func:`_hammer` in the bench virtualenv's python and read its JSON result."""
    job = {"base": base, "paths": paths, "headers": headers}
    proc = subprocess.run(
        [str(python), "-m", "bench.tiles", "--load"],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"load generator failed: {proc.stderr.strip()[-500:]}")
    out = json.loads(proc.stdout)
    return out["seconds"], out["latencies"], out["sizes"], out["errors"]


WRK_SCRIPT = Path(__file__).with_name("wrk_paths.lua")
WRK_SECONDS = 10
CHANGE_EVERY_S = 2.0


def _changes(db: str, every: float, stop) -> None:
    """Change one village's risk row every ``every`` seconds until ``stop`` is set: a real
    update, whose notification empties every worker's tile cache (as a rules run does)."""
    import psycopg

    with psycopg.connect(db, autocommit=True) as conn:
        while not stop.wait(every):
            conn.execute(
                "UPDATE village_risk SET computed_at = now() WHERE (village_code, hazard) ="
                " (SELECT village_code, hazard FROM village_risk ORDER BY 1, 2 LIMIT 1)"
            )


def _wrk(
    base: str,
    paths: list[str],
    headers: dict[str, str],
    folder: Path,
    change_every: tuple[str, float] | None = None,
    seconds: int = WRK_SECONDS,
) -> dict:
    """The list cycled for WRK_SECONDS under wrk (C, epoll): the load generator takes almost
    no CPU from the two cores the servers share, so its latencies are the servers'. With
    ``change_every`` (database, seconds) the data change that often meanwhile."""
    import threading

    wrk = shutil.which("wrk")
    assert wrk is not None
    listing = folder / f"paths-{urlsplit(base).port}.txt"
    listing.write_text("\n".join(paths) + "\n")
    argv = [wrk, "-t2", f"-c{CONCURRENCY}", f"-d{seconds}s", "-s", str(WRK_SCRIPT)]
    for k, v in headers.items():
        argv += ["-H", f"{k}: {v}"]
    argv += [base, "--", str(listing), "2"]
    stop = threading.Event()
    changer = None
    if change_every is not None:
        changer = threading.Thread(target=_changes, args=(*change_every, stop), daemon=True)
        changer.start()
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    finally:
        stop.set()
        if changer is not None:
            changer.join()
    lines = [x for x in proc.stdout.splitlines() if x.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed: {proc.stderr.strip()[-300:]}")
    out = json.loads(lines[-1])
    out["rps"] = out["requests"] / (out["duration_us"] / 1e6)
    return out


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if values else 0.0


def _summary(name: str, n: int, result: tuple[float, list[float], list[int], int]) -> str:
    seconds, lat, sizes, errors = result
    return (
        f"{name}: {n / seconds:,.0f} tiles/s, p50 {_p(lat, 50) * 1000:.1f} ms,"
        f" p99 {_p(lat, 99) * 1000:.1f} ms; {len(sizes)} non-empty tiles, mean"
        f" {statistics.fmean(sizes) / 1024 if sizes else 0:.1f} KB, max"
        f" {max(sizes, default=0) / 1024:.1f} KB; {errors} errors"
    )


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def run(url: str, tcp_url: str, villages: int | None = None) -> Iterator[str]:
    """Yield report lines: tile-list size, outline rebuild time, both servers, the ratios."""
    import psycopg
    from psycopg import sql

    from riskmap.api.users import add_user, new_token
    from riskmap.geo.db.migrate import migrate

    villages = villages or int(os.environ.get("BENCH_TILE_VILLAGES", "3000"))
    python = ensure_tipg()
    name = f"bench_tiles_{uuid.uuid4().hex[:8]}"
    admin = with_db(url, "postgres")
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    db, db_tcp = with_db(url, name), with_db(tcp_url, name)
    logs = Path(mkdtemp(prefix="riskmap-bench-tiles-logs-"))
    procs: list[subprocess.Popen] = []
    try:
        migrate(db)
        bounds = _load_county(db, villages)
        with psycopg.connect(db, autocommit=True) as conn:
            t0 = time.perf_counter()
            units = conn.execute("SELECT tile_refresh(ARRAY[%s])", [COUNTY]).fetchone()[0]
            rebuild = time.perf_counter() - t0
            add_user(conn, "bench-tiles", "viewer")
            token = new_token(conn, "bench-tiles", label="bench")
        yield (
            f"{villages:,} villages; outlines of {units:,} units simplified for 5 zoom bands"
            f" in {rebuild:.1f} s (after each load)"
        )
        tiles = _tile_list(bounds)
        per_zoom = {z: sum(t.z == z for t in tiles) for z in ZOOMS}
        yield f"{len(tiles):,} tiles per server, zooms 8–14: {per_zoom}"
        ours_port, bare_port, tipg_port = free_port(), free_port(), free_port()
        procs.append(_start_riskmap(db, ours_port, logs / "riskmap.log"))
        # the same server with no tile cache: every request renders (the cold case, for long)
        procs.append(_start_riskmap(db, bare_port, logs / "bare.log", tile_cache_mb="0"))
        procs.append(_start_tipg(python, db_tcp, tipg_port, logs / "tipg.log"))
        ours = f"http://127.0.0.1:{ours_port}"
        bare = f"http://127.0.0.1:{bare_port}"
        peer = f"http://127.0.0.1:{tipg_port}"
        _wait_ready(f"{ours}/healthz", procs[0])
        _wait_ready(f"{bare}/healthz", procs[1])
        _wait_ready(f"{peer}/collections/{TIPG_COLLECTION}", procs[2])
        ours_paths = [f"/tiles/villages/{t.z}/{t.x}/{t.y}.mvt" for t in tiles]
        peer_paths = [_tipg_path(t) for t in tiles]
        auth = {"Authorization": f"Bearer {token}"}
        warm = _warm_list(bounds)
        for base in (ours, bare):
            _load(python, base, [f"/tiles/villages/{t.z}/{t.x}/{t.y}.mvt" for t in warm], auth)
        _load(python, peer, [_tipg_path(t) for t in warm], {})

        # 1. first render of every tile (Python load generator: sizes, bytes, errors)
        peer_result = _load(python, peer, peer_paths, {})
        ours_result = _load(python, ours, ours_paths, auth)
        yield _summary(f"first render: tipg 1.6 ({WORKERS} workers)", len(tiles), peer_result)
        yield _summary(f"first render: riskmap  ({WORKERS} workers)", len(tiles), ours_result)
        biggest = max(ours_result[2], default=0)
        share = sum(ours_result[2]) / max(1, sum(peer_result[2]))
        yield (
            f"first render: riskmap vs tipg {peer_result[0] / ours_result[0]:.1f}x tiles/s;"
            f" largest tile {biggest / 1024:.0f} KB (limit 500 KB), bytes {share:.2f} of"
            " tipg's (ours carry more attributes)"
        )
        if shutil.which("wrk") is None:
            yield "wrk not installed: no C-load-generator passes (make bench installs it)"
            return

        # 2.–4. under wrk (C): the load generator takes almost no CPU from the servers
        _wrk(bare, ours_paths, auth, logs, seconds=3)  # its first renders of the list
        peer_wrk = _wrk(peer, peer_paths, {}, logs)
        bare_wrk = _wrk(bare, ours_paths, auth, logs)
        _wrk(ours, ours_paths, auth, logs, seconds=3)  # every worker holds the list (steady)
        ours_wrk = _wrk(ours, ours_paths, auth, logs)
        changing = _wrk(ours, ours_paths, auth, logs, change_every=(db, CHANGE_EVERY_S))
        rows = (
            ("tipg 1.6, renders every request", peer_wrk),
            ("riskmap, no tile cache: renders every request", bare_wrk),
            ("riskmap, shared view (tile cache)", ours_wrk),
            (f"riskmap, tile cache, a data change every {CHANGE_EVERY_S:.0f} s", changing),
        )
        for name, r in rows:
            yield (
                f"wrk {WRK_SECONDS} s, {CONCURRENCY} clients, list cycled: {name}:"
                f" {r['rps']:,.0f} tiles/s, p50 {r['p50_us'] / 1000:.1f} ms,"
                f" p99 {r['p99_us'] / 1000:.1f} ms, max {r['max_us'] / 1000:.0f} ms,"
                f" {r['errors']} errors"
            )
        for name, r in rows[1:]:
            yield (
                f"{name}: riskmap vs tipg {r['rps'] / peer_wrk['rps']:.1f}x tiles/s (target"
                f" ≥ 3x), p99 {r['p99_us'] / 1000:.0f} ms at {CONCURRENCY} clients (target"
                " < 50 ms)"
            )
    finally:
        for proc in procs:
            _stop(proc)
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _main_load() -> None:
    """``python -m bench.tiles --load``: a JSON job on stdin, the timings as JSON on stdout."""
    job = json.load(sys.stdin)
    try:
        from uvloop import run as run_loop
    except ImportError:
        run_loop = asyncio.run
    seconds, latencies, sizes, errors = run_loop(_hammer(job["base"], job["paths"], job["headers"]))
    json.dump({"seconds": seconds, "latencies": latencies, "sizes": sizes, "errors": errors},
              sys.stdout)  # fmt: skip


def _main() -> None:
    """``python -m bench.tiles [VILLAGES]``: its own throwaway cluster with a loopback TCP port."""
    from riskmap.geo.db.cluster import EmbeddedCluster

    base = Path(mkdtemp(prefix="riskmap-bench-", dir="/tmp"))
    os.chmod(base, 0o755)
    cluster = EmbeddedCluster(base / "pg", tcp_port=free_port())
    try:
        socket_url = cluster.up()
        for line in run(socket_url, cluster.tcp_url_for(), *(int(a) for a in sys.argv[1:])):
            print(line, flush=True)
    finally:
        cluster.destroy()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    _main_load() if sys.argv[1:] == ["--load"] else _main()
