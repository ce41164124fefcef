"""What the SL 323 database source sends to a SQL Server (and Oracle) it cannot reach here: the
page statement compiled by SQLAlchemy's own dialects, checked as text; and the validation of
a database source in sources.yaml (no password in the file, none in the messages)."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Column, MetaData, Table
from sqlalchemy.dialects import mssql, oracle
from sqlalchemy.dialects.mssql import CHAR, DATETIME, NUMERIC
from sqlalchemy.dialects.mssql.pyodbc import MSDialect_pyodbc

from riskmap.geo.errors import DataError
from riskmap.ingest.sl323db.remote import StationFilter, page_statement
from riskmap.ingest.sources import DatabaseSource, load_sources

SINCE = datetime(2026, 7, 14, 6, 0)
AFTER = (datetime(2026, 7, 14, 8, 0), "61100002")


def sql_server_tables() -> tuple[Table, Table]:
    """ST_PPTN_R and ST_STBPRP_B as SL 323 defines them on SQL Server (schema dbo)."""
    meta = MetaData()
    pptn = Table(
        "ST_PPTN_R",
        meta,
        Column("STCD", CHAR(8)),
        Column("TM", DATETIME),
        Column("DRP", NUMERIC(5, 1)),
        Column("INTV", NUMERIC(5, 2)),
        schema="dbo",
    )
    stations = Table(
        "ST_STBPRP_B", meta, Column("STCD", CHAR(8)), Column("ADDVCD", CHAR(6)), schema="dbo"
    )
    return pptn, stations


def compiled(dialect, **filters):
    pptn, stations = sql_server_tables()
    stmt = page_statement(pptn, SINCE, AFTER, StationFilter(**filters), 500, stations)
    return stmt.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})


def test_sql_server_page_uses_top_qmark_parameters_and_no_row_values() -> None:
    pyodbc = MSDialect_pyodbc(paramstyle="qmark")  # what pyodbc.paramstyle gives the engine
    c = compiled(pyodbc, stations=["61100001", "61100003"], prefixes=["611"], addvcd=["4312"])
    text = " ".join(str(c).split())
    assert text.startswith("SELECT TOP 500 dbo.[ST_PPTN_R].[STCD], dbo.[ST_PPTN_R].[TM]")
    assert "LIMIT" not in text and "OFFSET" not in text and "FETCH" not in text
    assert "%s" not in text and ":" not in text  # pyodbc's qmark style only
    # TM compared with bound parameters, never with a literal time (no format, no zone cast)
    assert "dbo.[ST_PPTN_R].[TM] >= ?" in text
    assert (
        "(dbo.[ST_PPTN_R].[TM] > ? OR dbo.[ST_PPTN_R].[TM] = ? AND dbo.[ST_PPTN_R].[STCD] > ?)"
        in text
    )
    assert "2026" not in text and "CAST" not in text.upper()
    # no row-value comparison such as (TM, STCD) > (?, ?), which SQL Server lacks
    assert not re.search(r"\(\s*[^()]*TM\]\s*,\s*[^()]*STCD\]\s*\)\s*[<>]", text)
    assert "[STCD] IN (?, ?)" in text
    assert "LIKE ? + '%' ESCAPE '/'" in text  # the prefix is a parameter, escaped
    assert "ORDER BY dbo.[ST_PPTN_R].[TM], dbo.[ST_PPTN_R].[STCD]" in text
    assert (
        list(c.params.values()).count(SINCE) == 1 and list(c.params.values()).count(AFTER[0]) == 2
    )
    # TM three times, STCD once, two codes, a prefix, an admin code: TOP is a literal
    assert text.count("?") == len(c.positiontup) == 8


def test_sql_server_prefix_wildcards_are_escaped_as_parameters() -> None:
    c = compiled(mssql.dialect(), prefixes=["61_%"])
    assert "61/_/%" in c.params.values()  # LIKE wildcards in a prefix are matched literally


def test_oracle_page_fetches_first_rows() -> None:
    text = " ".join(str(compiled(oracle.dialect())).split())
    assert "FETCH FIRST 500 ROWS ONLY" in text and "LIMIT" not in text


def write(tmp: Path, text: str) -> Path:
    path = tmp / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_database_source_is_read_with_its_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "sources:\n"
        "  - name: hunan-sl323\n"
        "    kind: sl323-db\n"
        "    url: mssql+pyodbc://reader@10.43.1.20/RWDB?driver=ODBC+Driver+18+for+SQL+Server\n"
        "    schema: dbo\n"
        "    addvcd: ['431226']\n"
        "  - name: cma-cap\n"
        "    url: http://127.0.0.1:1/x.xml\n",
    )
    db, http = load_sources(path)
    assert isinstance(db, DatabaseSource) and db.db_schema == "dbo"
    assert db.tables == ["ST_PPTN_R", "ST_RIVER_R", "ST_RSVR_R"]
    assert (db.interval_s, db.overlap_s, db.backfill_s, db.page_rows) == (300, 7200, 86400, 5000)
    assert http.interval_s == 300 and not isinstance(http, DatabaseSource)


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ("url: postgresql+psycopg://reader:Hidden-pw_77@db/rw", "holds a password"),
        ("url: 'Hidden-pw_77://:x'", "not a SQLAlchemy URL"),
        ("url: mssql+pyodbc://r@h/db\n    tables: [ST_PPTN_R, ST_PPTN_R]", "more than once"),
        ("url: mssql+pyodbc://r@h/db\n    stations: ['Hidden-pw_77']", "stations.0"),
        ("url: mssql+pyodbc://r@h/db\n    password: Hidden-pw_77", "password: Extra inputs"),
    ],
)
def test_bad_database_sources_are_refused_without_echoing_values(
    tmp_path: Path, entry: str, says: str
) -> None:
    path = write(tmp_path, f"sources:\n  - name: prov\n    kind: sl323-db\n    {entry}\n")
    with pytest.raises(DataError) as refused:
        load_sources(path)
    message = str(refused.value)
    assert says in message and "Hidden-pw_77" not in message


def test_the_engine_and_a_failure_never_show_the_password() -> None:
    from pydantic import SecretStr

    from riskmap.ingest.sl323db.poll import describe
    from riskmap.ingest.sl323db.remote import make_engine

    secret = SecretStr("Hidden-pw_77")
    src = DatabaseSource(name="prov", kind="sl323-db", url="postgresql+psycopg://r@db.example/rw")
    engine = make_engine(src.url, secret, 10)
    assert engine.url.password == "Hidden-pw_77"  # it is used to connect
    assert "Hidden-pw_77" not in f"{engine} {engine.url!r} {engine.url}"
    # a driver that echoed it in its message: the reason logged has *** in its place
    said = describe(RuntimeError("auth failed for r/Hidden-pw_77\nmore"), src, secret)
    assert said == "postgresql+psycopg://r@db.example/rw: RuntimeError: auth failed for r/***"
