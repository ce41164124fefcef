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

The quick run also starts, at the end of the shared set-up (:func:`start_early`, while its
checkpoint writes; :func:`wait_early` waits until every one answers), the servers its benches
would otherwise start one after the other, each over its bench's own database as before: the
served county's, the instances bench's second instance, the writes bench's "protection off"
server, the web bench's two (its pages and the floor page) and the city's ``riskmap serve``.
Each bench takes its own (:func:`take`; it starts its own when the set-up did not) and stops
it as before. An idle server waits on its sockets and its LISTEN connections: it takes no CPU
from the benches measured meanwhile.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from bench import databases, fixtures
from bench.common import free_port, with_db
from bench.results import quick

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
    "second": {"instances"},  # the instances bench's second instance
    "unprotected": {"writes"},  # the writes bench's "protection off" server
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


_early: dict[str, list[Early]] = {}
_starting: dict[str, Future] = {}  # started in a thread (delivery's)
_started: dict[str, object] = {}


def wanted(server: str, names) -> bool:
    """Whether a bench of ``names`` (all when empty) uses the early ``server``."""
    names = set(names)
    return not names or bool(EARLY[server] & names)


def start_early(url: str, tcp_url: str, names) -> list[str]:
    """The quick run: make the databases and start the servers the benches of ``names`` use
    (not waiting for them: :func:`wait_early`); a line for each server that could not start
    (its bench then starts its own)."""
    if not quick():
        return []
    names = list(names)
    problems = []
    starts = {  # those over a database built already first, then those that make theirs
        "city": lambda: _early_city(),
        "static": lambda: _early_static("static"),
        "city-static": lambda: _early_static("city-static"),
        "delivery": lambda: _early_delivery(url),
        "county": lambda: _early_county(url, tcp_url, names),
        "web": lambda: _early_web(url),
    }
    for server, start in starts.items():
        if wanted(server, names):
            try:
                start()
            except Exception as exc:  # the bench starts its own, and fails there if it must
                problems.append(f"early server {server} not started ({type(exc).__name__}: {exc})")
    return problems


def _early_county(url: str, tcp_url: str, names: list[str]) -> None:
    county_ = county(url, tcp_url, wait=False)
    if wanted("second", names):  # one database and one data folder, as deploy/nginx.conf
        port = free_port()
        log = county_.log.with_name(f"serve-{port}.log")
        proc = start_instance(port, county_.env, log)
        _early["second"] = [Early(f"http://127.0.0.1:{port}", proc, log)]
    if wanted("unprotected", names):
        from bench.writes_setup import start_server
        from bench.writes_under_load import VARIANTS, WORKERS

        port, folder = free_port(), fixtures.keep_folder("riskmap-bench-unprotected-")
        log = folder / "serve.log"
        proc = start_server(county_.db, folder, port, log, WORKERS, **VARIANTS["protection off"])
        _early["unprotected"] = [Early(f"http://127.0.0.1:{port}", proc, log)]


def _early_web(url: str) -> None:
    from bench import web

    _early["web"] = web.start(url, fixtures.keep_folder("riskmap-bench-web-"))


def _early_city() -> None:
    built = fixtures.result("city")
    if built is None:
        return
    _, city, _ = built
    folder = fixtures.keep_folder("riskmap-bench-city-serve-")
    port, log = free_port(), folder / "serve.log"
    proc = start_instance(port, instance_env(city.db, folder), log)
    _early["city"] = [Early(f"http://127.0.0.1:{port}", proc, log)]


def _early_static(server: str) -> None:
    from bench.warnings_latency import start_static

    _early[server] = start_static(fixtures.keep_folder("riskmap-bench-static-"))


def _early_delivery(url: str) -> None:
    """The delivery bench's receiver and first dispatcher, started in a thread (it waits for
    them to listen) over the county the set-up loaded."""
    from bench import delivery

    tmp = fixtures.result("delivery")
    if tmp is None:
        return
    pool = ThreadPoolExecutor(1, thread_name_prefix="bench-early")
    _starting["delivery"] = pool.submit(delivery.start, with_db(url, "bench_delivery"), tmp)
    pool.shutdown(wait=False)


def wait_early() -> list[str]:
    """Until every server :func:`start_early` started answers; a line saying what is up (and
    one for each that failed: its bench starts its own)."""
    from bench.instances import _wait

    lines = []
    if _served:
        _wait(f"{_served[0].base}/healthz", [_served[0].proc], _served[0].log)
    for servers in _early.values():
        for server in servers:
            _wait(server.extra.get("ready", f"{server.base}/healthz"), [server.proc], server.log)
    for name, future in list(_starting.items()):
        try:
            _started[name] = future.result()
        except Exception as exc:
            lines.append(f"early {name} not started ({type(exc).__name__}: {exc})")
        del _starting[name]
    up = (["county"] if _served else []) + list(_early) + list(_started)
    return lines + ([f"servers up in the set-up: {', '.join(up)}"] if up else [])


def started() -> bool:
    """Whether :func:`start_early` started anything."""
    return bool(_served or _early or _starting or _started)


def take(server: str):
    """The early ``server``'s processes for its bench, which stops them (None: not started);
    for ``delivery``, what ``bench.delivery.start`` returned."""
    if server in _starting:  # (not waited for yet)
        _started[server] = _starting.pop(server).result()
    if server in _started:
        return _started.pop(server)
    return _early.pop(server, None)


def close() -> None:
    """Stop the server (its database goes with the bench cluster), and any early server no
    bench took (a bench that raised before taking it)."""
    for servers in _early.values():
        for server in servers:
            server.proc.terminate()
            try:
                server.proc.wait(30)
            except subprocess.TimeoutExpired:
                server.proc.kill()
    _early.clear()
    for name, future in list(_starting.items()):  # (each until it ends)
        if future.exception() is None:
            _started[name] = future.result()
    _starting.clear()
    for started in _started.values():  # what a bench did not take: the delivery's processes
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
