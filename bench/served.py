"""The quick run's served county: one database and one ``riskmap serve`` over it, shared by the
tiles, warnings, instances and writes benches instead of each copying the demo county,
starting its own server over it and stopping it again.

The database is the demo county as the other quick benches have it (its storm ending at the
current hour, risk maps built: bench/databases.py) with every candidate warning issued (what
the warning list needs; the tiles then carry the warnings' colours, as in use). The server is
``riskmap serve --workers 2`` as deployed (and as the tiles and instances benches start it in
the full run): the tiles bench's "riskmap" server, the warning list's "riskmap" (the full run
starts that one with ``uvicorn --factory`` and in-process metrics instead), and the instances
bench's first instance, and the writes bench's "writes first" server (for which it allows as
many writes as the writes bench's own servers do). Each bench still warms it before measuring
and starts its peers and other servers itself. It stops when the run ends (:func:`close`).

The quick run also starts, at the end of the shared set-up (:func:`start_early`;
:func:`wait_early` waits until every one answers), the servers its benches
would otherwise start one after the other, each over its bench's own database as before: the
served county's, the tiles bench's uncached server and tipg, the instances bench's second
instance, the web bench's two (its pages and the floor page) and the city's ``riskmap serve``.
Each bench takes its own (:func:`take`; it starts its own when the set-up did not) and stops
it as before. An idle server waits on its sockets and its LISTEN connections: it takes no CPU
from the benches measured meanwhile.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from bench import databases, fixtures
from bench.common import free_port, with_db
from bench.results import quick
from bench.servers import start_riskmap
from bench.servers import stop as stop_server

WORKERS = 2


@dataclass
class Served:
    db: str  # over the socket
    db_tcp: str  # the same over TCP (tipg)
    port: int
    proc: subprocess.Popen
    env: dict[str, str] = field(repr=False)  # a second instance's (same database and data)
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


_served: list[Served] = []


def instance_env(db: str, data: Path) -> dict[str, str]:
    """The environment of a ``riskmap serve`` over ``db`` with ``data`` as its data folder (the
    bench's own settings only)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKMAP_")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    (data / "data").mkdir(parents=True, exist_ok=True)
    return env | {
        "RISKMAP_DATABASE_URL": db,
        "RISKMAP_DATA_DIR": str(data / "data"),
        "RISKMAP_LOG_LEVEL": "warning",
    }


def start_instance(port: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    """``riskmap serve --workers 2`` on 127.0.0.1:``port``."""
    argv = [str(Path(sys.executable).parent / "riskmap"), "serve", "--host", "127.0.0.1"]
    argv += ["--port", str(port), "--workers", str(WORKERS)]
    out = log.open("w")
    return subprocess.Popen(argv, env=env, stdout=out, stderr=out)


def county(url: str, tcp_url: str, *, wait: bool = True) -> Served:
    """The served county on ``url``'s server (made and started on first use; without ``wait``
    the caller waits for the server, e.g. while it starts its own beside it)."""
    if _served:
        if wait:
            from bench.instances import _wait

            _wait(f"{_served[0].base}/healthz", [_served[0].proc], _served[0].log)
        return _served[0]
    from bench.instances import _wait
    from bench.warnings_latency import issue_candidates

    name = f"bench_served_{uuid.uuid4().hex[:8]}"
    folder = fixtures.keep_folder("riskmap-bench-served-")
    db = databases.demo_storm(url, name, folder / "demo", risk=True)
    with psycopg.connect(db) as conn:
        issue_candidates(conn)
    # the writes bench issues warnings over HTTP on it, as it does on its own servers
    env = instance_env(db, folder) | {"RISKMAP_WRITE_RATE_LIMIT": "100000/minute"}
    port, log = free_port(), folder / "serve.log"
    proc = start_instance(port, env, log)
    served = Served(db, with_db(tcp_url, name), port, proc, env, log)
    _served.append(served)
    atexit.register(close)
    if wait:
        _wait(f"{served.base}/healthz", [proc], log)
    return served


# the servers the quick run starts at the end of the set-up, and the benches using each
EARLY = {
    "county": {"tiles", "warnings", "instances", "writes"},
    "tiles": {"tiles"},  # its uncached riskmap server and tipg, over the served county
    "second": {"instances"},  # the instances bench's second instance
    "web": {"web"},  # its pages' server and the floor page's
    "city": {"city"},  # the city's riskmap serve
    "static": {"warnings"},  # the warning list's peer (a static file)
    "city-static": {"city"},  # the same for the city's warning list
    "delivery": {"delivery"},  # its receiver and first dispatcher (not a server of ours)
}


@dataclass
class Early:
    """A server started in the set-up: its URL, process and log, and what its bench needs."""

    base: str
    proc: subprocess.Popen
    log: Path
    extra: dict = field(default_factory=dict)

    @property
    def port(self) -> int:
        return int(self.base.rsplit(":", 1)[1])


_lanes: list[Future] = []  # start_early's lanes, until wait_early
_started: dict[str, object] = {}  # what each started: its servers (delivery: its processes)


def wanted(server: str, names) -> bool:
    """Whether a bench of ``names`` (all when empty) uses the early ``server``."""
    names = set(names)
    return not names or bool(EARLY[server] & names)


def start_early(url: str, tcp_url: str, names) -> list[str]:
    """The quick run: make the databases and start the servers the benches of ``names`` use,
    in two lanes of their own (threads), each starting one server and waiting until it
    answers before the next: servers started all at once on two cores leave each worker so
    little CPU that uvicorn's supervisor, which wants an answer to its ping within 5 s, kills
    and restarts them. :func:`wait_early` waits for both lanes. Returns at once (no lines)."""
    if not quick() or os.environ.get("BENCH_EARLY", "1").strip() == "0":
        return []  # (BENCH_EARLY=0: each bench starts its own, as before: to compare)
    names = list(names)
    lanes: list[list[tuple[str, Callable[[], object]]]] = [
        [  # the served county, then the servers over its database
            ("county", lambda: _early_county(url, tcp_url)),
            ("tiles", lambda: _early_tiles()),
            ("second", lambda: _early_second()),
        ],
        [  # over databases built already (the city, the delivery county), then the web's
            ("city", _early_city),
            ("delivery", lambda: _early_delivery(url)),
            ("static", lambda: _early_static()),
            ("city-static", lambda: _early_static()),
            ("web", lambda: _early_web(url)),
        ],
    ]
    pool = ThreadPoolExecutor(len(lanes), thread_name_prefix="bench-early")
    for lane in lanes:
        jobs = [(name, job) for name, job in lane if wanted(name, names)]
        if jobs:
            _lanes.append(pool.submit(_run_lane, jobs))
    pool.shutdown(wait=False)
    return []


def _run_lane(jobs: list[tuple[str, Callable[[], object]]]) -> list[str]:
    """Run ``jobs`` in turn (each starts its server and waits for it); a line for each that
    failed (its bench starts its own) or was skipped (the county's did not start)."""
    lines, took = [], []
    for name, job in jobs:
        if name in ("tiles", "second") and not _served:
            continue  # (the county's server did not start: their benches start their own)
        t0 = time.perf_counter()
        try:
            started = job()
        except Exception as exc:
            lines.append(f"early {name} not started ({type(exc).__name__}: {exc})")
            continue
        took.append(f"{name} {time.perf_counter() - t0:.1f} s")
        if started is not None:
            _started[name] = started
    return [*lines, f"early lane: {', '.join(took)}"]


def _ready(servers: list[Early]) -> list[Early]:
    """``servers`` once each answers (stopped, and the error raised, when one does not)."""
    from bench.instances import _wait

    try:
        for server in servers:
            _wait(server.extra.get("ready", f"{server.base}/healthz"), [server.proc], server.log)
    except BaseException:
        for server in servers:
            stop_server(server.proc)
        raise
    return servers


def _early_county(url: str, tcp_url: str) -> None:
    county(url, tcp_url, wait=True)


def _early_second() -> list[Early]:
    """The instances bench's second instance: one database and one data folder with the
    first, as deploy/nginx.conf describes."""
    first = _served[0]
    port = free_port()
    log = first.log.with_name(f"serve-{port}.log")
    return _ready([Early(f"http://127.0.0.1:{port}", start_instance(port, first.env, log), log)])


def _early_tiles() -> list[Early]:
    """The tiles bench's peers over the served county: riskmap without a tile cache, tipg."""
    from bench import tiles, tipg

    first = _served[0]
    folder = fixtures.keep_folder("riskmap-bench-tiles-")
    bare_port, tipg_port = free_port(), free_port()
    bare = start_riskmap(first.db, bare_port, folder / "bare.log", tile_cache_mb="0")
    peer = tipg.start_tipg(
        fixtures.tipg_python(), first.db_tcp, tipg_port, folder / "tipg.log", tiles.WORKERS
    )
    tipg_base = f"http://127.0.0.1:{tipg_port}"
    return _ready(
        [
            Early(f"http://127.0.0.1:{bare_port}", bare, folder / "bare.log"),
            Early(tipg_base, peer, folder / "tipg.log", {"ready": tipg.tipg_ready(tipg_base)}),
        ]
    )


def _early_web(url: str) -> list[Early]:
    from bench import web

    return _ready(web.start(url, fixtures.keep_folder("riskmap-bench-web-")))


def _early_city() -> list[Early] | None:
    built = fixtures.result("city")
    if built is None:
        return None
    _, city, _ = built
    folder = fixtures.keep_folder("riskmap-bench-city-serve-")
    port, log = free_port(), folder / "serve.log"
    proc = start_instance(port, instance_env(city.db, folder), log)
    return _ready([Early(f"http://127.0.0.1:{port}", proc, log)])


def _early_static() -> list[Early]:
    from bench.warnings_latency import start_static

    return _ready(start_static(fixtures.keep_folder("riskmap-bench-static-")))


def _early_delivery(url: str):
    """The delivery bench's receiver and first dispatcher (it waits for them to listen) over
    the county the set-up loaded."""
    from bench import delivery

    tmp = fixtures.result("delivery")
    if tmp is None:
        return None
    return delivery.start(with_db(url, "bench_delivery"), tmp)


def wait_early() -> list[str]:
    """Until both lanes of :func:`start_early` are done; a line for each server that failed
    (its bench starts its own) and one saying what is up."""
    lines = []
    while _lanes:
        lines += _lanes.pop(0).result()
    up = (["county"] if _served else []) + list(_started)
    return lines + ([f"servers up in the set-up: {', '.join(up)}"] if up else [])


def started() -> bool:
    """Whether :func:`start_early` started anything."""
    return bool(_served or _started or _lanes)


def take(server: str):
    """The early ``server``'s processes for its bench, which stops them (None: not started);
    for ``delivery``, what ``bench.delivery.start`` returned."""
    return _started.pop(server, None)


def close() -> None:
    """Stop the served county's server (its database goes with the bench cluster), and what
    :func:`start_early` started that no bench took (a bench that raised before taking it)."""
    wait_early()
    for started in _started.values():
        if isinstance(started, list):
            for server in started:
                stop_server(server.proc)
        else:  # the delivery's receiver and dispatcher
            started.dispatcher.close()
            started.receiver.close()
    _started.clear()
    while _served:
        proc = _served.pop().proc
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
