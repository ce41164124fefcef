"""Several real `riskmap serve` instances over one database and one data directory, with a real
nginx (Debian's package) in front of them configured by deploy/nginx.conf itself (bench/nginx.py,
which the instances bench starts it with too)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg import sql

from bench.nginx import start_nginx
from riskmap.api.passwords import set_password
from riskmap.api.users import add_user, new_token
from riskmap.geo.db.cluster import EmbeddedCluster
from riskmap.geo.db.migrate import migrate
from tests.conftest import BUNDLED_BOUNDARIES, ROOT, make_scratch_dir

RISKMAP = str(Path(sys.executable).parent / "riskmap")
WORKERS = 2  # per instance: the metrics add up workers, so each instance has several
LOGIN_LIMIT = 4  # failed sign-ins per name or address in 15 minutes
WRITE_LIMIT = 8  # write actions per user per minute
PASSWORD = "instances-test-9"
ROLES = ("viewer", "reporter", "forecaster", "admin")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, seconds: float, what: str, step: float = 0.05):
    """The first truthy ``check()`` within ``seconds``, else a failure naming ``what``."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what}: not within {seconds} s"
        time.sleep(step)


@dataclass
class Instance:
    """One `riskmap serve` process (its own session: killing it kills its workers too)."""

    port: int
    env: dict[str, str]
    log: Path
    workers: int = WORKERS
    proc: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def name(self) -> str:
        return f"{socket.gethostname()}:{self.port}"

    def start(self) -> Instance:
        argv = [RISKMAP, "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        argv += ["--workers", str(self.workers)]
        with self.log.open("a") as log:
            self.proc = subprocess.Popen(
                argv, env=self.env, cwd=ROOT, stdout=log, stderr=log, start_new_session=True
            )
        return self

    def ready(self, seconds: float = 90) -> Instance:
        def up() -> bool:
            assert self.proc is not None and self.proc.poll() is None, (
                f"instance {self.port} exited: {self.log.read_text()[-3000:]}"
            )
            try:
                return httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(up, seconds, f"instance {self.port} ready", step=0.2)
        return self

    def kill(self) -> None:
        """SIGKILL to the instance and its workers at once."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


@dataclass
class Fleet:
    """Two instances, nginx in front of them, and a token per role."""

    db_url: str
    data_dir: Path
    env: dict[str, str]
    instances: list[Instance]
    proxy: str
    tokens: dict[str, str] = field(default_factory=dict)
    villages: list[str] = field(default_factory=list)

    def new_instance(self, **env: str) -> Instance:
        port = free_port()
        log = self.data_dir / "logs" / f"serve-{port}.log"
        return Instance(port, self.env | env, log)

    def user(self, role: str, *, password: bool = False) -> tuple[str, str]:
        """A new user of ``role`` (its own rate-limit allowance) and a token for it."""
        name = f"{role}-{uuid.uuid4().hex[:6]}"
        with psycopg.connect(self.db_url, autocommit=True) as conn:
            add_user(conn, name, role)
            if password:
                set_password(conn, name, PASSWORD)
            return name, new_token(conn, name, label="tests")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKMAP_")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env | extra


@pytest.fixture(scope="session")
def instances_db(pg_cluster: EmbeddedCluster) -> Iterator[str]:
    """A database of its own with the Mayang demo county (villages, tiles' tables)."""
    from riskmap.geo.demo.county import generate
    from riskmap.geo.demo.load import load

    name = f"t_inst_{uuid.uuid4().hex[:8]}"
    admin = pg_cluster.url_for("postgres")
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = pg_cluster.url_for(name)
    migrate(url)
    tmp = make_scratch_dir("instances-demo-")
    demo = generate(
        "431226",
        villages=None,
        seed=7,
        bundled_path=BUNDLED_BOUNDARIES,
        out_dir=tmp,
        roster_start=datetime(2026, 7, 1, tzinfo=UTC),
    )
    with psycopg.connect(url) as conn:
        load(conn, demo)
    yield url
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def fleet(instances_db: str) -> Iterator[Fleet]:
    """Two instances started together and nginx in front of them on 127.0.0.1."""
    data_dir = make_scratch_dir("instances-data-")
    (data_dir / "logs").mkdir()
    env = clean_env(
        RISKMAP_DATABASE_URL=instances_db,
        RISKMAP_DATA_DIR=str(data_dir),
        RISKMAP_LOG_LEVEL="warning",
        RISKMAP_LOGIN_RATE_LIMIT=f"{LOGIN_LIMIT}/15 minutes",
        RISKMAP_WRITE_RATE_LIMIT=f"{WRITE_LIMIT}/minute",
        RISKMAP_API_NICE="0",
    )
    fleet = Fleet(instances_db, data_dir, env, [], "")
    fleet.instances = [fleet.new_instance().start() for _ in range(2)]
    listen = free_port()
    proxy = start_nginx(data_dir / "nginx", listen, [i.port for i in fleet.instances])
    fleet.proxy = f"http://127.0.0.1:{listen}"
    try:
        for instance in fleet.instances:
            instance.ready()
        with psycopg.connect(instances_db) as conn:
            fleet.villages = [
                r[0] for r in conn.execute("SELECT code FROM village ORDER BY code LIMIT 40")
            ]
        for role in ROLES:
            fleet.tokens[role] = fleet.user(role)[1]
        wait_until(lambda: _answers(fleet.proxy), 10, "nginx answers")
        yield fleet
    finally:
        proxy.terminate()
        proxy.wait(10)
        for instance in fleet.instances:
            instance.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def _answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False
