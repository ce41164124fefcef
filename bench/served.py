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
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from bench import databases, fixtures
from bench.common import free_port, with_db

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


def close() -> None:
    """Stop the server (its database goes with the bench cluster)."""
    while _served:
        proc = _served.pop().proc
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
