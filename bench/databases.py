"""New databases for the benches on the bench cluster: each a copy of one migrated template
(``CREATE DATABASE … TEMPLATE``, under a second) instead of a new database migrated again (every
migration, ~10 s on two busy cores, per bench), so set-up time goes to the benches' own data.

``python -m bench`` makes the template right after migrating its cluster (:func:`make_template`);
a bench run alone on a server without it migrates its database as before.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

from bench.common import with_db
from bench.results import quick

TEMPLATE = "bench_migrated"


def make_template(url: str) -> bool:
    """Copy ``url``'s database (migrated, nothing else in it yet) as the template; False (and
    every bench migrates its own database) when it cannot be copied."""
    source = urlsplit(url).path.lstrip("/")
    with psycopg.connect(with_db(url, "postgres"), autocommit=True) as c:
        drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        c.execute(drop.format(sql.Identifier(TEMPLATE)))
        create = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(TEMPLATE), sql.Identifier(source)
        )
        for _ in range(20):
            # a copy needs the source to itself: the migration's sessions may still be closing
            c.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                (source,),
            )
            try:
                c.execute(create)
                return True
            except psycopg.errors.ObjectInUse:
                time.sleep(0.5)
    return False


_throwaway: list[bool] = []


def throwaway_cluster() -> None:
    """Say that the bench cluster is deleted when the run ends, stopped at once with nothing
    written out (``python -m bench``: bench/__main__.py)."""
    _throwaway.append(True)


def drop_database(url: str, name: str) -> None:
    """Drop database ``name`` on ``url``'s server (its sessions ended). The quick run on a
    throwaway cluster leaves it until the cluster goes: a DROP DATABASE waits for a checkpoint,
    seconds of writing out what the benches before it wrote, which the cluster's deletion at
    the end never writes."""
    if quick() and _throwaway:
        return
    with psycopg.connect(with_db(url, "postgres"), autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def create_database(url: str, name: str) -> str:
    """A new, migrated database ``name`` on ``url``'s server; its URL."""
    from riskmap.geo.db.migrate import migrate

    with psycopg.connect(with_db(url, "postgres"), autocommit=True) as c:
        have = c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (TEMPLATE,)).fetchone()
        create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if have:
            create += sql.SQL(" TEMPLATE {}").format(sql.Identifier(TEMPLATE))
        c.execute(create)
    db = with_db(url, name)
    if not have:
        migrate(db)
    return db


# -- the demo county as `riskmap demo` leaves it (warnings, instances, web, writes; quick: tiles)

COUNTY = "431226"
_STORM_TEMPLATE = "bench_demo_storm"
_storm_files: list[Path] = []  # quick run: the template's generated files, once it exists


def demo_storm(url: str, name: str, data: Path, *, risk: bool) -> str:
    """A new database ``name`` holding the demo county as ``riskmap demo`` leaves it (its storm
    placed to end at the current hour, the rules run hour by hour through it), with its risk maps
    when ``risk``; the generated files in ``data``. Its URL.

    In the quick run the county is built once (risk maps always) as a template, kept with its
    files until the run ends, and each bench gets a copy of both: the storm's replay is most of
    a bench's set-up, and the quick run measures the same things on the same data."""
    data.mkdir(parents=True, exist_ok=True)
    if not quick():
        return _build_storm(url, name, data, risk=risk)
    if not _storm_files:  # not built by the set-up (bench/fixtures.py): now
        # the databases' catalogue names files in this folder: it stays until the run ends
        keep = Path(tempfile.mkdtemp(prefix="riskmap-bench-storm-", dir="/tmp"))
        os.chmod(keep, 0o755)
        atexit.register(shutil.rmtree, keep, ignore_errors=True)
        use_storm_template(build_storm_template(url, keep))
    with psycopg.connect(with_db(url, "postgres"), autocommit=True) as c:
        c.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(_STORM_TEMPLATE)
            )
        )
    shutil.copytree(_storm_files[0], data, dirs_exist_ok=True)
    return with_db(url, name)


def build_storm_template(url: str, keep: Path) -> Path:
    """Build the quick run's demo-storm template on ``url``'s server, its files in ``keep`` (a
    folder that stays until the run ends); ``keep``. The set-up runs it in a process of its
    own (bench/fixtures.py); :func:`use_storm_template` then lets :func:`demo_storm` copy it."""
    _build_storm(url, _STORM_TEMPLATE, keep, risk=True)
    return keep


def storm_built() -> bool:
    """Whether the quick run's set-up built the demo-storm template (copies take a second)."""
    return bool(_storm_files)


_county_copy: list[str] = []


def county_copy(url: str) -> str:
    """``url``, or in a quick run whose set-up built the demo county, one copy of it shared by
    the benches that only need a county loaded (its stations, villages and grid): a copy takes
    a second, generating and loading the county again several."""
    if not storm_built():
        return url
    if not _county_copy:
        data = Path(tempfile.mkdtemp(prefix="riskmap-bench-county-", dir="/tmp"))
        os.chmod(data, 0o755)
        atexit.register(shutil.rmtree, data, ignore_errors=True)
        _county_copy.append(demo_storm(url, "bench_county", data, risk=True))
    return _county_copy[0]


def use_storm_template(keep: Path) -> None:
    _storm_files[:] = [keep]


def _build_storm(url: str, name: str, data: Path, *, risk: bool) -> str:
    from rich.console import Console

    from riskmap.api.cli.common import DEFAULT_SEED
    from riskmap.api.cli.demo_load import load_demo
    from riskmap.geo.risk.build import build_risk
    from riskmap.geo.risk.catalogue import catalogued_dem
    from riskmap.geo.settings import Settings

    db = create_database(url, name)
    settings = Settings(data_dir=data, rules_dir=None)
    load_demo(settings, db, COUNTY, None, DEFAULT_SEED, Console(quiet=True), with_scenario=True)
    if risk:
        with psycopg.connect(db) as conn:
            build_risk(conn, catalogued_dem(conn, COUNTY), county=COUNTY)
            conn.commit()
    return db
