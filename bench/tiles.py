"""Vector tiles of the village layer: riskmap's ``/tiles/villages/{z}/{x}/{y}.mvt`` against tipg
1.6 (developmentseed, FastAPI + asyncpg + ST_AsMVT) serving the same villages from the same
PostGIS database in the same run.

Both servers get the same tile list (every tile over the demo county at zooms 8–14, a fixed
sample where a zoom has more than ``PER_ZOOM_MAX`` tiles), the same number of uvicorn workers,
the same MVT extent (4096) and buffer (64), and 50 concurrent HTTP/1.1 keep-alive clients. The
county gets ``BENCH_TILE_VILLAGES`` (default 3,000) villages with their risk maps built, so that
low-zoom tiles carry real weight and our tiles their real attributes. Both servers are warmed
first on zoom-15 tiles that are not in the list (connection pools, plans, page cache).
:func:`measure` runs the same over any loaded counties: bench/city.py gives it a whole city
(the tile list then covers the city's extent).

Passes:

1. **first render**: each tile asked for once, by a bare HTTP/1.1 client on uvloop in a process
   of its own (it shares the two cores with the servers): throughput, tile sizes and bytes.
2. **under wrk** (C, epoll; the list cycled for ``WRK_SECONDS``; the load generator takes
   almost no CPU, so latencies are the servers'): tipg (it renders every request); riskmap
   with no tile cache (``RISKMAP_TILE_CACHE_MB=0``, a second server: every request renders,
   the cold case held for ten seconds); riskmap with its tile cache ("shared view": many
   people watching one county); and riskmap with its cache while a random village's risk
   levels change every ``CHANGE_EVERY_S`` seconds (bench/tile_client.py; each change drops, in
   every worker, the cached tiles that draw that village — migration 0054 — and they render
   again under full load; before 0054 each change emptied the whole cache, as a rules run
   still does).

tipg is asked for the attributes it can give (code, name, township code); riskmap's tiles also
carry the three risk levels, their maximum, the warning colour and the township name. Reported:
tiles/s and their ratio (target ≥ 3× tipg), p50/p99 latency (target p99 < 50 ms), and tile
sizes (ours must stay under 500 KB; our outlines are simplified per zoom band, tipg sends them
at full detail).

tipg lives in its own virtualenv (``.venv-bench-tipg``, created on first use with pip) so the
peer's dependencies never enter riskmap's; the first-render load generator runs there
(bench/tile_client.py, standard library only; uvloop if the venv has it). tipg refuses
socket-only database URLs, so the bench cluster listens on a loopback TCP port
(``EmbeddedCluster(tcp_port=…)``).
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from tempfile import mkdtemp

from bench import databases, fixtures, served, tile_client
from bench.common import free_port, with_db
from bench.results import Row, at_least, below, quick, record, scaled
from bench.servers import renice_tree, start_riskmap
from bench.servers import stop as stop_server
from bench.tipg import start_tipg, tipg_path, tipg_ready

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "data" / "boundaries" / "hunan_demo.geojson"
COUNTY = "431226"
ZOOMS = range(8, 15)
PER_ZOOM_MAX = scaled(600, 100)
CONCURRENCY = 50
WORKERS = 2
TileCheck = Callable[[str, dict[str, str]], str]


def _load_county(url: str, villages: int) -> None:
    """Generate and load the demo county with its risk maps."""
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


def _warm_list(bounds: tuple[float, float, float, float]) -> list:
    """Zoom-15 tiles over the county: warm-up requests that are not in the measured list."""
    import morecantile

    tms = morecantile.tms.get("WebMercatorQuad")
    return random.Random(7).sample(list(tms.tiles(*bounds, zooms=[15])), 150)


def _wait_ready(url: str, proc: subprocess.Popen, timeout: float = 180.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    answer = "nothing"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before it was ready")
        try:
            r = httpx.get(url, timeout=10)  # healthz lists migrations: slow on busy cores
            if r.status_code < 500:
                return
            answer = f"{r.status_code} {r.text[:300]}"
        except httpx.HTTPError as exc:
            answer = repr(exc)
        time.sleep(0.3)
    raise RuntimeError(f"server at {url} not ready after {timeout:.0f} s (last answer: {answer})")


WRK_SECONDS = scaled(10, 1)
WRK_WARM_S = scaled(3, 1)
CHANGE_EVERY_S = 2.0
# the pass while the data change: as long as the others; the quick one long enough for two
# changes, the first soon after the start
CHANGING_S = scaled(WRK_SECONDS, 3)
FIRST_CHANGE_S = scaled(None, 0.5)
TARGET_RPS_X = 3.0  # tiles/s at least 3× tipg's
TARGET_P99_MS = 50.0  # at 50 clients, also while the data change every 2 s (issue 19)
TARGET_TILE_KB = 500.0


def _wrk(base: str, paths: list[str], headers: dict[str, str], folder: Path, **kw) -> dict:
    kw.setdefault("seconds", WRK_SECONDS)
    return tile_client.wrk(base, paths, headers, folder, clients=CONCURRENCY, **kw)


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


def run(url: str, tcp_url: str, villages: int | None = None) -> Iterator[str]:
    """The demo county with ``villages`` villages in a database of its own: :func:`measure`."""
    import psycopg
    from psycopg import sql

    if quick():  # the demo county's 222 villages, served once for three benches
        county = served.county(url, tcp_url, wait=False)  # measure waits, beside its others
        early = served.take("tiles")  # its uncached server and tipg, started in the set-up
        peers = None if early is None else tuple((e.base, e.proc) for e in early)
        yield from measure(
            county.db, county.db_tcp, [COUNTY], ours=(county.base, county.proc), peers=peers
        )
        return
    villages = villages or int(os.environ.get("BENCH_TILE_VILLAGES", "3000"))
    name = f"bench_tiles_{uuid.uuid4().hex[:8]}"
    admin = with_db(url, "postgres")
    data = Path(mkdtemp(prefix="riskmap-bench-tiles-data-", dir="/tmp"))
    os.chmod(data, 0o755)
    try:
        databases.create_database(url, name)
        _load_county(with_db(url, name), villages)
        yield from measure(with_db(url, name), with_db(tcp_url, name), [COUNTY])
    finally:
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        shutil.rmtree(data, ignore_errors=True)


def measure(
    db: str,
    db_tcp: str,
    counties: list[str],
    check: TileCheck | None = None,
    *,
    bench: str = "tiles",
    scope: str = "",
    ours: tuple[str, subprocess.Popen] | None = None,
    peers: tuple[tuple[str, subprocess.Popen], ...] | None = None,
) -> Iterator[str]:
    """Yield report lines: tile-list size, outline rebuild time, both servers, the ratios, over
    ``counties`` (loaded, risk maps built) in database ``db`` (``db_tcp``: the same over TCP,
    for tipg); ``check(base, headers)``, when given, asks our server for tiles to show that
    they carry real data (bench/city.py) and says what it found. Rows go to ``bench``'s table,
    their measures prefixed by ``scope``. ``ours``: our server (its URL and process) already
    running over ``db`` (the quick run's served county, bench/served.py), else one is started;
    ``peers``: the same for the uncached riskmap server and tipg (this function stops them)."""
    import psycopg

    from riskmap.api.users import add_user, new_token
    from riskmap.geo.settings import Settings

    python = fixtures.tipg_python()
    logs = Path(mkdtemp(prefix="riskmap-bench-tiles-logs-"))
    procs: list[subprocess.Popen] = []
    try:
        with psycopg.connect(db, autocommit=True) as conn:
            t0 = time.perf_counter()
            units = conn.execute("SELECT tile_refresh(%s)", [counties]).fetchone()[0]
            rebuild = time.perf_counter() - t0
            add_user(conn, "bench-tiles", "viewer")
            token = new_token(conn, "bench-tiles", label="bench")
            villages = conn.execute("SELECT count(*) FROM village").fetchone()[0]
            bounds = conn.execute(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM"
                " (SELECT ST_Extent(geom) AS e FROM admin_unit WHERE code = ANY(%s)) x",
                [counties],
            ).fetchone()
        yield (
            f"{villages:,} villages; outlines of {units:,} units simplified for 5 zoom bands"
            f" in {rebuild:.1f} s (after each load)"
        )
        tiles = _tile_list(bounds)
        per_zoom = {z: sum(t.z == z for t in tiles) for z in ZOOMS}
        yield f"{len(tiles):,} tiles per server, zooms 8–14: {per_zoom}"
        if ours is None:
            ours_port = free_port()
            ours_proc = start_riskmap(db, ours_port, logs / "riskmap.log")
            procs.append(ours_proc)
            ours_base = f"http://127.0.0.1:{ours_port}"
        else:
            ours_base, ours_proc = ours
        if peers is None:
            # the same server with no tile cache: every request renders (the cold case)
            bare_port, tipg_port = free_port(), free_port()
            bare_proc = start_riskmap(db, bare_port, logs / "bare.log", tile_cache_mb="0")
            tipg_proc = start_tipg(python, db_tcp, tipg_port, logs / "tipg.log", WORKERS)
            bare, peer = f"http://127.0.0.1:{bare_port}", f"http://127.0.0.1:{tipg_port}"
        else:
            (bare, bare_proc), (peer, tipg_proc) = peers
        procs += [bare_proc, tipg_proc]
        ours = ours_base
        _wait_ready(f"{ours}/healthz", ours_proc)
        _wait_ready(f"{bare}/healthz", bare_proc)
        _wait_ready(tipg_ready(peer), tipg_proc)
        renice_tree(tipg_proc.pid, Settings().api_nice)
        ours_paths = [f"/tiles/villages/{t.z}/{t.x}/{t.y}.mvt" for t in tiles]
        peer_paths = [tipg_path(t) for t in tiles]
        auth = {"Authorization": f"Bearer {token}"}
        if check is not None:
            yield check(bare, auth)  # the server without a cache: the check warms nothing

        def hammer(base: str, paths: list[str], headers: dict[str, str]) -> tile_client.Result:
            return tile_client.load(python, base, paths, headers, CONCURRENCY)

        warm = _warm_list(bounds)
        for base in (ours, bare):
            hammer(base, [f"/tiles/villages/{t.z}/{t.x}/{t.y}.mvt" for t in warm], auth)
        hammer(peer, [tipg_path(t) for t in warm], {})

        # 1. first render of every tile (Python load generator: sizes, bytes, errors)
        peer_result = hammer(peer, peer_paths, {})
        ours_result = hammer(ours, ours_paths, auth)
        yield _summary(f"first render: tipg 1.6 ({WORKERS} workers)", len(tiles), peer_result)
        yield _summary(f"first render: riskmap  ({WORKERS} workers)", len(tiles), ours_result)
        biggest = max(ours_result[2], default=0)
        share = sum(ours_result[2]) / max(1, sum(peer_result[2]))
        record(
            Row(
                bench,
                f"{scope}first render of {len(tiles):,} tiles ({WORKERS} workers)",
                len(tiles) / ours_result[0],
                "tiles/s",
                "tipg 1.6",
                len(tiles) / peer_result[0],
                extra={
                    "errors": ours_result[3],
                    "peer_errors": peer_result[3],
                    "bytes_share_of_peer": share,
                },
            )
        )
        record(
            Row(
                bench,
                f"{scope}largest tile",
                biggest / 1024,
                "KB",
                "tipg 1.6 largest",
                max(peer_result[2], default=0) / 1024,
                target=f"≤ {TARGET_TILE_KB:.0f} KB",
                passed=biggest / 1024 <= TARGET_TILE_KB,
            )
        )
        yield (
            f"first render: riskmap vs tipg {peer_result[0] / ours_result[0]:.1f}x tiles/s;"
            f" largest tile {biggest / 1024:.0f} KB (limit 500 KB), bytes {share:.2f} of"
            " tipg's (ours carry more attributes)"
        )
        if shutil.which("wrk") is None:
            record(
                Row(
                    bench,
                    f"{scope}wrk passes",
                    None,
                    "",
                    passed=False,
                    note="wrk not installed (make bench installs it)",
                )
            )
            yield "wrk not installed: no C-load-generator passes (make bench installs it)"
            return

        # 2.–4. under wrk (C): the load generator takes almost no CPU from the servers
        if not quick():  # its first renders of the list (the quick run: its warm list only)
            _wrk(bare, ours_paths, auth, logs, seconds=WRK_WARM_S)
        peer_wrk = _wrk(peer, peer_paths, {}, logs)
        bare_wrk = _wrk(bare, ours_paths, auth, logs)
        _wrk(ours, ours_paths, auth, logs, seconds=WRK_WARM_S)  # every worker holds the list
        ours_wrk = _wrk(ours, ours_paths, auth, logs)
        changing = _wrk(
            ours,
            ours_paths,
            auth,
            logs,
            seconds=CHANGING_S,
            change_every=(db, CHANGE_EVERY_S),
            first_change=FIRST_CHANGE_S,
        )
        rows = (
            ("tipg 1.6, renders every request", peer_wrk),
            ("riskmap, no tile cache: renders every request", bare_wrk),
            ("riskmap, shared view (tile cache)", ours_wrk),
            (f"riskmap, tile cache, a data change every {CHANGE_EVERY_S:.0f} s", changing),
        )
        for name, r in rows:
            seconds = CHANGING_S if r is changing else WRK_SECONDS
            yield (
                f"wrk {seconds} s, {CONCURRENCY} clients, list cycled: {name}:"
                f" {r['rps']:,.0f} tiles/s, p50 {r['p50_us'] / 1000:.1f} ms,"
                f" p99 {r['p99_us'] / 1000:.1f} ms, max {r['max_us'] / 1000:.0f} ms,"
                f" {r['errors']} errors"
            )
        for name, r in rows[1:]:
            under = f"{scope}wrk {CONCURRENCY} clients, {name}"
            ratio = r["rps"] / peer_wrk["rps"]
            record(
                Row(
                    bench,
                    under,
                    r["rps"],
                    "tiles/s",
                    "tipg 1.6",
                    peer_wrk["rps"],
                    target=f"≥ {TARGET_RPS_X:.0f}× tipg",
                    passed=at_least(ratio, TARGET_RPS_X),
                    extra={"errors": r["errors"]},
                )
            )
            p99 = r["p99_us"] / 1000
            record(
                Row(
                    bench,
                    f"{under}: p99",
                    p99,
                    "ms",
                    "tipg 1.6 p99",
                    peer_wrk["p99_us"] / 1000,
                    target=f"< {TARGET_P99_MS:.0f} ms",
                    passed=below(p99, TARGET_P99_MS) and not r["errors"],
                    extra={"p50_ms": r["p50_us"] / 1000, "max_ms": r["max_us"] / 1000},
                )
            )
            yield (
                f"{name}: riskmap vs tipg {ratio:.1f}x tiles/s (target"
                f" ≥ 3x), p99 {r['p99_us'] / 1000:.0f} ms at {CONCURRENCY} clients (target"
                " < 50 ms)"
            )
    finally:
        for proc in procs:  # all at once: each takes its time to shut down
            proc.terminate()
        for proc in procs:
            stop_server(proc)


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
    _main()
