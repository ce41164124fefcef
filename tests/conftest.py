"""Shared fixtures: one throwaway PostGIS cluster per test session, real, never a mock."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from riskmap.geo.db.cluster import EmbeddedCluster
from riskmap.geo.db.migrate import migrate

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
BUNDLED_BOUNDARIES = ROOT / "data" / "boundaries" / "hunan_demo.geojson"


def make_scratch_dir(prefix: str) -> Path:
    """A temp folder the cluster account can traverse (tempfile makes 0700 folders)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    os.chmod(path, 0o755)
    return path


def own_demo_cluster(
    prefix: str, seed: int, *, fast_unsafe: bool
) -> Iterator[tuple[EmbeddedCluster, Path]]:
    """A cluster of the caller's own (for tests that stop or crash PostgreSQL) with the demo
    county loaded; yields (cluster, scratch folder), destroyed afterwards."""
    from datetime import UTC, datetime

    from riskmap.geo.demo.county import generate
    from riskmap.geo.demo.load import load

    base = make_scratch_dir(prefix)
    cluster = EmbeddedCluster(base / "pg", fast_unsafe=fast_unsafe)
    cluster.up()
    try:
        migrate(cluster.url)
        demo = generate(
            "431226",
            villages=None,
            seed=seed,
            bundled_path=BUNDLED_BOUNDARIES,
            out_dir=base / "demo",
            roster_start=datetime(2026, 7, 1, tzinfo=UTC),
        )
        with psycopg.connect(cluster.url) as conn:
            load(conn, demo)
        yield cluster, base
    finally:
        cluster.destroy()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[EmbeddedCluster]:
    base = make_scratch_dir("riskmap-test-")
    cluster = EmbeddedCluster(base / "pg", fast_unsafe=True)
    cluster.up()
    yield cluster
    cluster.destroy()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def db_url(pg_cluster: EmbeddedCluster) -> str:
    """The session database, migrated to the current schema."""
    migrate(pg_cluster.url)
    return pg_cluster.url


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection]:
    """A connection whose work is rolled back after the test."""
    with psycopg.connect(db_url) as connection:
        yield connection
        connection.rollback()


@pytest.fixture
def fresh_db(pg_cluster: EmbeddedCluster) -> Iterator[str]:
    """An empty database of its own (no schema), dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = pg_cluster.url_for("postgres")
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield pg_cluster.url_for(name)
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def mayang(db_url: str, tmp_path_factory: pytest.TempPathFactory):
    """The Mayang demo county (seed 7) loaded into the session database."""
    from datetime import UTC, datetime

    from riskmap.geo.demo.county import generate
    from riskmap.geo.demo.load import load

    demo = generate(
        "431226",
        villages=None,
        seed=7,
        bundled_path=BUNDLED_BOUNDARIES,
        out_dir=tmp_path_factory.mktemp("mayang"),
        roster_start=datetime(2026, 7, 1, tzinfo=UTC),
    )
    with psycopg.connect(db_url) as conn:
        load(conn, demo)
    return demo


@pytest.fixture(scope="session")
def storm_url(pg_cluster: EmbeddedCluster) -> Iterator[str]:
    """A database of its own: the default demo county with the bundled storm replayed.

    Built once per session and shared read-mostly (the storm-warnings test adds warnings, which
    nothing else here reads).
    """
    from datetime import UTC, datetime

    from riskmap.api.cli.common import DEFAULT_SEED
    from riskmap.geo.demo.county import generate
    from riskmap.geo.demo.load import load
    from riskmap.ingest.replay import replay

    name = f"t_storm_{uuid.uuid4().hex[:8]}"
    admin = pg_cluster.url_for("postgres")
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = pg_cluster.url_for(name)
    migrate(url)
    tmp = make_scratch_dir("storm-")
    demo = generate(
        "431226",
        villages=None,
        seed=DEFAULT_SEED,
        bundled_path=BUNDLED_BOUNDARIES,
        out_dir=tmp / "demo",
        roster_start=datetime(2026, 7, 10, tzinfo=UTC),
    )
    with psycopg.connect(url) as conn:
        load(conn, demo)
        replay(conn, ROOT / "data" / "scenarios" / "storm-431226", data_dir=tmp / "data")
    yield url
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
    shutil.rmtree(tmp, ignore_errors=True)


def clone_database(cluster: EmbeddedCluster, template_url: str, prefix: str = "t_api") -> str:
    """A copy of a database such as the storm's (CREATE DATABASE … TEMPLATE is a file copy:
    seconds); its connections are ended first, since a template must have none."""
    template = psycopg.conninfo.conninfo_to_dict(template_url)["dbname"]
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = cluster.url_for("postgres")
    with psycopg.connect(admin, autocommit=True) as c:
        for attempt in range(20):
            c.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                [template],
            )
            try:
                c.execute(
                    sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                        sql.Identifier(name), sql.Identifier(template)
                    )
                )
                break
            except psycopg.errors.ObjectInUse:
                if attempt == 19:
                    raise
                time.sleep(0.25)
    return cluster.url_for(name)


def drop_database(cluster: EmbeddedCluster, url: str) -> None:
    """Drop a database made by ``clone_database`` (its connections are ended first)."""
    name = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    with psycopg.connect(cluster.url_for("postgres"), autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def planner_url(pg_cluster: EmbeddedCluster, storm_url: str) -> Iterator[str]:
    """A copy of the storm with risk maps built and the rules run for six hours: what a
    planner's database holds (the planner API tests and the notebooks share it, read only)."""
    from datetime import timedelta

    from riskmap.geo.demo.scenario import DEFAULT_START
    from riskmap.geo.risk.build import build_risk
    from riskmap.geo.risk.catalogue import catalogued_dem
    from riskmap.geo.warnings.cycle import reset_for_demo, run_cycle

    copy = clone_database(pg_cluster, storm_url, prefix="t_planner")
    with psycopg.connect(copy) as conn:
        reset_for_demo(conn)
        build_risk(conn, catalogued_dem(conn, "431226"), county="431226")
        conn.commit()
        for h in range(1, 7):
            run_cycle(conn, DEFAULT_START + timedelta(hours=h))
            conn.commit()
    yield copy
    drop_database(pg_cluster, copy)
