"""A remote SL 323 database for the database source's tests, and our side beside it.

The remote is a PostgreSQL cluster of the tests' own (so a test can stop it and start it
again), reached as a reader role with a password (scram-sha-256, the only role that needs
one), holding the SL 323 tables with the standard's column names and types. Our side is a
database of its own on the session cluster, migrated, with the three test stations registered
through an ST_STBPRP_B file as an operator would.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

from riskmap.geo.db.cluster import EmbeddedCluster
from riskmap.geo.db.migrate import migrate
from riskmap.ingest.pipeline import ingest_file
from tests.conftest import make_scratch_dir

READER = "sl323reader"
PASSWORD = "Rd-7q!pW_sl323x"  # must never show in a log, a message or a table
BEIJING = timedelta(hours=8)

# SL 323 (实时雨水情数据库表结构与标识符) column names and types: datetime is timestamp here
COLUMNS = {
    "ST_STBPRP_B": [("STCD", "char(8)"), ("STNM", "varchar(30)"), ("ADDVCD", "char(6)")],
    "ST_PPTN_R": [
        ("STCD", "char(8)"),
        ("TM", "timestamp"),
        ("DRP", "numeric(5,1)"),
        ("INTV", "numeric(5,2)"),
        ("PDR", "numeric(5,2)"),
        ("DYP", "numeric(5,1)"),
        ("WTH", "char(1)"),
    ],
    "ST_RIVER_R": [
        ("STCD", "char(8)"),
        ("TM", "timestamp"),
        ("Z", "numeric(7,3)"),
        ("Q", "numeric(9,3)"),
        ("XSA", "numeric(9,3)"),
        ("XSAVV", "numeric(5,3)"),
        ("XSMXV", "numeric(5,3)"),
        ("FLWCHRCD", "char(1)"),
        ("WPTN", "char(1)"),
        ("MSQMT", "char(1)"),
        ("MSAMT", "char(1)"),
        ("MSVMT", "char(1)"),
    ],
    "ST_RSVR_R": [
        ("STCD", "char(8)"),
        ("TM", "timestamp"),
        ("RZ", "numeric(7,3)"),
        ("INQ", "numeric(9,3)"),
        ("W", "numeric(9,3)"),
        ("BLRZ", "numeric(7,3)"),
        ("OTQ", "numeric(9,3)"),
        ("RWCHRCD", "char(1)"),
        ("RWPTN", "char(1)"),
        ("INQDR", "numeric(5,2)"),
        ("MSQMT", "char(1)"),
    ],
}

STATIONS_CSV = (
    "STCD,STNM,LGTD,LTTD,ADDVCD,STTP\n"
    "61100001,高村雨量站,109.80,27.87,431226,PP\n"
    "61100002,锦和水文站,109.70,27.90,431226,ZQ\n"
    "61100003,兰里水库,109.60,27.80,431226,RR\n"
    "62200001,衡阳雨量站,112.40,26.90,430421,PP\n"
)


def remote_cluster(prefix: str) -> Iterator[EmbeddedCluster]:
    """A cluster of the caller's own with the reader role, password-checked on its socket."""
    base = make_scratch_dir(prefix)
    cluster = EmbeddedCluster(base / "pg", fast_unsafe=True)
    cluster.up()
    try:
        hba = cluster.data_dir / "pg_hba.conf"
        hba.write_text(f"local all {READER} scram-sha-256\n" + hba.read_text())
        with psycopg.connect(cluster.url_for("postgres"), autocommit=True) as c:
            c.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(READER), sql.Literal(PASSWORD)
                )
            )
            c.execute("SELECT pg_reload_conf()")
        yield cluster
    finally:
        cluster.destroy()
        shutil.rmtree(base, ignore_errors=True)


def remote_database(cluster: EmbeddedCluster, *, upper_case: bool = False) -> tuple[str, str]:
    """A new database with the SL 323 tables; returns (SQLAlchemy URL of the reader without
    password, libpq URL of the superuser to write rows). ``upper_case``: quoted upper-case
    names as SQL Server keeps them; else unquoted, as PostgreSQL folds them (lower case)."""
    name = f"sl323_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(cluster.url_for("postgres"), autocommit=True) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    admin = cluster.url_for(name)

    def ident(n: str) -> sql.Composable:
        return sql.Identifier(n) if upper_case else sql.SQL(n.lower())

    with psycopg.connect(admin, autocommit=True) as c:
        for table, columns in COLUMNS.items():
            cols = [sql.SQL("{} {}").format(ident(n), sql.SQL(t)) for n, t in columns]
            key = [ident("STCD")] + ([ident("TM")] if table != "ST_STBPRP_B" else [])
            c.execute(
                sql.SQL("CREATE TABLE {} ({}, PRIMARY KEY ({}))").format(
                    ident(table), sql.SQL(", ").join(cols), sql.SQL(", ").join(key)
                )
            )
            c.execute(
                sql.SQL("GRANT SELECT ON {} TO {}").format(ident(table), sql.Identifier(READER))
            )
    host = quote(str(cluster.socket_dir), safe="/")
    url = f"postgresql+psycopg://{READER}@/{name}?host={host}&port={cluster.port}"
    return url, admin


def insert(admin: str, table: str, rows: list[dict], *, upper_case: bool = False) -> None:
    """Rows into a remote SL 323 table, as the province's system writes them."""
    with psycopg.connect(admin) as c:
        for row in rows:
            names = [sql.Identifier(k) if upper_case else sql.SQL(k.lower()) for k in row]
            table_id = sql.Identifier(table) if upper_case else sql.SQL(table.lower())
            c.execute(
                sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
                    table_id,
                    sql.SQL(", ").join(names),
                    sql.SQL(", ").join(sql.Placeholder() * len(row)),
                ),
                list(row.values()),
            )


def our_database(cluster: EmbeddedCluster, tmp: Path) -> str:
    """A migrated database of its own with the test stations (61100001-3, 62200001)."""
    name = f"t_sl323db_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(cluster.url_for("postgres"), autocommit=True) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = cluster.url_for(name)
    migrate(url)
    path = tmp / "ST_STBPRP_B.csv"
    path.write_text(STATIONS_CSV, encoding="utf-8")
    with psycopg.connect(url) as conn:
        assert ingest_file(conn, path, data_dir=tmp).status == "loaded"
    return url


def drop(cluster: EmbeddedCluster, url: str) -> None:
    name = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    with psycopg.connect(cluster.url_for("postgres"), autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def hour_base(hours_ago: int = 6) -> datetime:
    """A whole hour some hours ago in Beijing time without zone (as SL 323 writes TM)."""
    now = (datetime.now(UTC) + BEIJING).replace(tzinfo=None, minute=0, second=0, microsecond=0)
    return now - timedelta(hours=hours_ago)


def utc(beijing: datetime) -> datetime:
    """The UTC instant of a naive Beijing time (the test's own arithmetic: minus 8 hours)."""
    return (beijing - BEIJING).replace(tzinfo=UTC)


def rows_of(url: str, query: str, *params) -> list[tuple]:
    with psycopg.connect(url) as c:
        return c.execute(query, params or None).fetchall()
