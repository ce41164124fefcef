"""The remote SL 323 database, read with SQLAlchemy Core: its tables found by name, one page of
rows at a time in (TM, STCD) order.

Core rather than hand-written SQL because the provincial databases are mostly SQL Server, some
PostgreSQL, Oracle or DM: one statement becomes each dialect's own SQL (``TOP n`` on SQL
Server, ``FETCH FIRST`` on Oracle, ``LIMIT`` on PostgreSQL), quoting and parameter style, and
every value is bound as a parameter. No row-value comparison (``(TM, STCD) > (?, ?)``), which
SQL Server lacks: the page key is spelt out with OR / AND.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import SecretStr
from sqlalchemy import Column, MetaData, Select, Table, and_, create_engine, inspect, or_, select
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.pool import NullPool

from riskmap.ingest.feeds.hydro.tables import Sl323Table

STATIONS_TABLE = "ST_STBPRP_B"


class RemoteError(Exception):
    """The remote database is not as SL 323 defines it: a poll of it stops with this reason."""


class RemoteTableError(RemoteError):
    """The remote database has no such SL 323 table, or it lacks the columns that are needed."""


@dataclass(frozen=True)
class StationFilter:
    """Which stations to read: codes, code prefixes, admin-code prefixes (any of them)."""

    stations: Sequence[str] = ()
    prefixes: Sequence[str] = ()
    addvcd: Sequence[str] = ()

    @property
    def empty(self) -> bool:
        return not (self.stations or self.prefixes or self.addvcd)


def make_engine(url: str, password: SecretStr | None, timeout_s: float) -> Engine:
    """An engine that opens a new connection per poll (no pool to hold connections a restarted
    server has dropped); the password is set on the URL object, whose text shows ``***``."""
    target = make_url(url)
    if password is not None:
        target = target.set(password=password.get_secret_value())
    args: dict[str, object] = {}
    if target.get_driver_name() == "psycopg":  # other drivers take theirs in the URL's query
        args = {
            "connect_timeout": max(1, math.ceil(timeout_s)),
            "options": f"-c statement_timeout={math.ceil(timeout_s * 1000)}",
        }
    return create_engine(target, poolclass=NullPool, connect_args=args)


def shown_url(url: str) -> str:
    """The URL as logs may show it (a password, should one be there, as ``***``)."""
    return make_url(url).render_as_string(hide_password=True)


def bind_table(conn: Connection, table: Sl323Table, schema: str | None) -> Table:
    """The remote table of ``table`` with the columns riskmap reads, matched without regard to
    case (SQL Server keeps ``ST_PPTN_R``, a PostgreSQL created unquoted ``st_pptn_r``)."""
    return _bind(conn, table.name, _wanted(table), schema, table.any_of)


def bind_stations(conn: Connection, schema: str | None) -> Table:
    """ST_STBPRP_B with the columns the admin-code filter needs."""
    return _bind(conn, STATIONS_TABLE, ("STCD", "ADDVCD"), schema, ())


def _wanted(table: Sl323Table) -> tuple[str, ...]:
    return ("STCD", "TM", *table.numeric, *table.text)


def _bind(
    conn: Connection, name: str, wanted: Sequence[str], schema: str | None, any_of: Sequence[str]
) -> Table:
    found = inspect(conn)
    names = {n.upper(): n for n in found.get_table_names(schema=schema)}
    if name not in names:
        raise RemoteTableError(f"the remote database has no table {name}")
    columns = {c["name"].upper(): c for c in found.get_columns(names[name], schema=schema)}
    missing = [c for c in ("STCD", "TM") if c in wanted and c not in columns]
    if any_of and not set(any_of) & columns.keys():
        missing.append(" or ".join(any_of))
    if missing or "STCD" not in columns:
        raise RemoteTableError(f"remote table {name} lacks column(s) {', '.join(missing)}")
    kept = [Column(columns[c]["name"], columns[c]["type"], key=c) for c in wanted if c in columns]
    return Table(names[name], MetaData(), *kept, schema=schema)


def page_statement(
    table: Table,
    since: datetime,
    after: tuple[datetime, str] | None,
    stations: StationFilter,
    page_rows: int,
    station_table: Table | None = None,
) -> Select:
    """Rows with TM at or after ``since`` (and after the key ``after`` of the last page), of
    the filtered stations, in (TM, STCD) order, at most ``page_rows``."""
    tm, stcd = table.c.TM, table.c.STCD
    stmt = select(*table.c).where(tm >= since)
    if after is not None:
        stmt = stmt.where(or_(tm > after[0], and_(tm == after[0], stcd > after[1])))
    if not stations.empty:
        stmt = stmt.where(_station_clause(table, stations, station_table))
    return stmt.order_by(tm, stcd).limit(page_rows)


def _station_clause(table: Table, stations: StationFilter, station_table: Table | None):
    stcd = table.c.STCD
    parts = []
    if stations.stations:
        parts.append(stcd.in_(list(stations.stations)))
    parts += [stcd.startswith(p, autoescape=True) for p in stations.prefixes]
    if stations.addvcd:
        if station_table is None:
            raise ValueError("an admin-code filter needs the remote ST_STBPRP_B table")
        st = station_table.c
        codes = or_(*(st.ADDVCD.startswith(a, autoescape=True) for a in stations.addvcd))
        parts.append(stcd.in_(select(st.STCD).where(codes)))
    return or_(*parts)


def fetch_page(conn: Connection, stmt: Select) -> list[dict[str, object]]:
    """The rows of one page as dicts keyed by the SL 323 column names (upper case)."""
    return [{str(k).upper(): v for k, v in row.items()} for row in conn.execute(stmt).mappings()]
