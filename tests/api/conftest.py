"""A real riskmap server on 127.0.0.1 over a database of its own: the demo county, the replayed
storm and the warnings the rules raised through it, plus one user and token per role."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn
from psycopg import sql

from riskmap.api.app import create_app
from riskmap.api.users import ROLES, add_user, new_token
from riskmap.geo.db.cluster import EmbeddedCluster
from riskmap.geo.settings import Settings
from tests.conftest import clone_database


@dataclass
class Service:
    """The running server: its base URL, its database and a token per role."""

    base_url: str
    db_url: str
    tokens: dict[str, str] = field(default_factory=dict)
    app: Any = None  # the served app (its state: tile cache, batcher), in this process

    def client(self, role: str | None = None, **kw) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        headers |= kw.pop("headers", {})
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30, **kw)


def start_server(settings: Settings, db_url: str) -> tuple[str, uvicorn.Server, threading.Thread]:
    """Serve ``create_app`` on a loopback port chosen by the kernel, in a thread."""
    app = create_app(settings, database_url=db_url)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.02)
    return f"http://127.0.0.1:{port}", server, thread


def prepare_service_database(url: str) -> dict[str, str]:
    """Make the copy of the storm at ``url`` what the test service serves; its tokens by role."""
    from riskmap.geo.demo.scenario import DEFAULT_START
    from riskmap.geo.risk.build import build_risk
    from riskmap.geo.risk.catalogue import catalogued_dem
    from riskmap.geo.warnings.cycle import reset_for_demo, run_cycle

    # The storm as the duty officers saw it: the rules hour by hour from 09:00 to 15:00 Beijing.
    with psycopg.connect(url) as conn:
        reset_for_demo(conn)  # the template may hold another module's warnings
        build_risk(conn, catalogued_dem(conn, "431226"), county="431226")  # risk on the layers
        conn.commit()
        for h in range(1, 8):
            run_cycle(conn, DEFAULT_START + timedelta(hours=h))
            conn.commit()
        tokens = {}
        for role in ROLES:
            add_user(conn, f"test-{role}", role, display_name=f"测试{role}")
            tokens[role] = new_token(conn, f"test-{role}", label="tests")
    return tokens


@pytest.fixture(scope="session")
def service(pg_cluster: EmbeddedCluster, storm_url: str, tmp_path_factory) -> Iterator[Service]:
    url = clone_database(pg_cluster, storm_url)
    tokens = prepare_service_database(url)
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("service-data"), write_rate_limit="1000/minute"
    )
    base, server, thread = start_server(settings, url)
    yield Service(base, url, tokens, app=server.config.app)
    server.should_exit = True
    thread.join(timeout=10)
    admin = pg_cluster.url_for("postgres")
    name = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
