"""Reliability tests: databases of their own on the session cluster, dropped at the end."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from riskmap.geo.db.cluster import EmbeddedCluster
from riskmap.geo.db.migrate import migrate

_made: list[tuple[EmbeddedCluster, str]] = []


def new_database(cluster: EmbeddedCluster, prefix: str = "t_rel") -> str:
    """A new database migrated to the current schema; dropped when the session ends."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(cluster.url_for("postgres"), autocommit=True) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    _made.append((cluster, name))
    url = cluster.url_for(name)
    migrate(url)
    return url


@pytest.fixture(scope="session", autouse=True)
def _drop_made_databases() -> Iterator[None]:
    yield
    for cluster, name in _made:
        with psycopg.connect(cluster.url_for("postgres"), autocommit=True) as c:
            c.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
