"""Security tests: a real server on 127.0.0.1 over a clone of the storm database, one user and
token per role; the limits tests get a server of their own with small limits."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import psycopg
import pytest
import uvicorn

from riskmap.api.users import add_user, new_token
from riskmap.geo.db.cluster import EmbeddedCluster
from riskmap.geo.settings import Settings
from tests.api.conftest import start_server
from tests.conftest import clone_database, drop_database

# Written out here, not imported from riskmap.api.users: the roles the README promises.
ROLES = ("viewer", "reporter", "forecaster", "commander", "admin", "integration")


@dataclass
class Server:
    base_url: str
    db_url: str
    server: uvicorn.Server
    tokens: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module")
def make_server(
    pg_cluster: EmbeddedCluster, storm_url: str, tmp_path_factory
) -> Iterator[Callable[..., Server]]:
    """Start servers over clones of the storm database with the given settings; all stopped
    and dropped when the module ends."""
    made: list[tuple[uvicorn.Server, object, str]] = []

    def make(**settings) -> Server:
        url = clone_database(pg_cluster, storm_url, prefix="t_sec")
        tokens = {}
        with psycopg.connect(url) as conn:
            for role in ROLES:
                add_user(conn, f"sec-{role}", role, display_name=f"安全{role}")
                tokens[role] = new_token(conn, f"sec-{role}", label="tests")
        data_dir = tmp_path_factory.mktemp("security-data")
        base, server, thread = start_server(Settings(data_dir=data_dir, **settings), url)
        made.append((server, thread, url))
        return Server(base, url, server, tokens)

    yield make
    for server, thread, url in made:
        server.should_exit = True
        thread.join(timeout=10)
        drop_database(pg_cluster, url)
