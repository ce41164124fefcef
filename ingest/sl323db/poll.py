"""One poll of an SL 323 database source: each table from its mark less the overlap, page by
page, each page stored with its mark.

The remote failing (unreachable, a wrong password, a table missing, the server going away
mid-poll) ends the poll with a message that never holds the password; the pages stored
before it stay stored and the next poll reads on from their mark. Our own database failing
raises ``psycopg.OperationalError`` to the runner, as for files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from pydantic import SecretStr
from sqlalchemy import Table
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from riskmap.geo.vocabulary import BEIJING
from riskmap.ingest.feeds.hydro.tables import KIND_SL323, TABLES, Sl323Table
from riskmap.ingest.pipeline import Summary
from riskmap.ingest.sl323db.remote import (
    RemoteError,
    StationFilter,
    bind_stations,
    bind_table,
    fetch_page,
    make_engine,
    page_statement,
    shown_url,
)
from riskmap.ingest.sl323db.store import read_mark, store_page
from riskmap.ingest.sources import DatabaseSource


@dataclass
class PollResult:
    """The pages a poll stored, and why it stopped early (None: it read everything)."""

    summaries: list[Summary] = field(default_factory=list)
    error: str | None = None

    def all_summaries(self, name: str) -> list[Summary]:
        """The pages stored, and the failure as a rejected "file" as the HTTP poller gives."""
        if self.error is None:
            return self.summaries
        failed = Summary(
            f"sl323-db:{name}", KIND_SL323, "rejected", message=f"unreachable: {self.error}"
        )
        return [*self.summaries, failed]


def redact(text: str, password: SecretStr | None) -> str:
    """``text`` with the password, should a driver ever echo it, replaced by ``***``."""
    secret = password.get_secret_value() if password is not None else ""
    return text.replace(secret, "***") if secret else text


def describe(exc: Exception, source: DatabaseSource, password: SecretStr | None) -> str:
    """A one-line reason for a log: the driver's first line, not the SQL nor its parameters."""
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = str(cause).strip().splitlines() or [type(cause).__name__]
    where = shown_url(source.url)
    return redact(f"{where}: {type(cause).__name__}: {lines[0]}", password)


def poll_database(
    database_url: str,
    source: DatabaseSource,
    password: SecretStr | None,
    *,
    data_dir: Path,
    now: datetime | None = None,
) -> PollResult:
    """Read every table of ``source`` from its mark (less the overlap) and store it."""
    now = now or datetime.now(UTC)
    result = PollResult()
    engine = make_engine(source.url, password, source.timeout_s)
    try:
        with psycopg.connect(database_url) as ours, engine.connect() as remote:
            stations = _stations(source, remote)
            for name in source.tables:
                _poll_table(ours, remote, source, TABLES[name], stations, result, data_dir, now)
    except (SQLAlchemyError, RemoteError) as exc:
        result.error = describe(exc, source, password)
    finally:
        engine.dispose()
    return result


def _stations(source: DatabaseSource, remote: Connection) -> tuple[StationFilter, Table | None]:
    """The station filter, and ST_STBPRP_B when it filters by admin code."""
    flt = StationFilter(source.stations, source.stcd_prefixes, source.addvcd)
    table = bind_stations(remote, source.db_schema) if source.addvcd else None
    return flt, table


def _poll_table(
    ours: psycopg.Connection,
    remote: Connection,
    source: DatabaseSource,
    table: Sl323Table,
    stations: tuple[StationFilter, Table | None],
    result: PollResult,
    data_dir: Path,
    now: datetime,
) -> None:
    remote_now = now.astimezone(BEIJING).replace(tzinfo=None)  # SL 323 TM: Beijing, no zone
    bound = bind_table(remote, table, source.db_schema)
    mark = read_mark(ours, source.name, table.name)
    if mark is None:  # the first poll of this table
        since = remote_now - timedelta(seconds=source.backfill_s)
    else:
        since = mark - timedelta(seconds=source.overlap_s)
    flt, station_table = stations
    after = None
    while True:
        stmt = page_statement(bound, since, after, flt, source.page_rows, station_table)
        rows = fetch_page(remote, stmt)
        if not rows:
            return
        summary = store_page(
            ours, source.name, table, rows, data_dir=data_dir, now=now, cap=remote_now
        )
        if summary is not None:
            result.summaries.append(summary)
        if len(rows) < source.page_rows:
            return
        after = (rows[-1]["TM"], rows[-1]["STCD"])  # as the remote has them: its own key
