"""Our side of a poll: the marks, and a page stored with its mark in one transaction.

The mark is committed with the rows it covers (or not at all), so whatever stops a poll (the
runner killed, the remote or our database gone) leaves the mark at rows that are stored, and the
next poll reads on from there. A page that brings nothing new (the overlap read again) leaves
no ingest behind, only the mark.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import psycopg

from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.ingest.batch import Context
from riskmap.ingest.feeds.hydro.tables import Sl323Table
from riskmap.ingest.pipeline import Summary, load_batch
from riskmap.ingest.sl323db.rows import Row, page_batch, page_digest, remote_time

SQL = SqlFiles("riskmap.ingest.sl323db.sql")


def read_mark(conn: psycopg.Connection, source: str, table: str) -> datetime | None:
    """The latest remote TM a source has read from ``table`` (None before its first rows)."""
    row = SQL.one(conn, "mark_get.sql", {"source": source, "table": table}, shape="tuple")
    conn.rollback()  # a read: leave no transaction open
    return row[0] if row else None


def _quarantined(
    conn: psycopg.Connection, ingest_source: str, records: list[str]
) -> frozenset[tuple[str, str, str]]:
    """(record, field, reason) this source already quarantined for these records (table, STCD
    and TM): the overlap is read at every poll, and a bad row is recorded once."""
    params = {"source": ingest_source, "records": sorted(set(records))}
    return frozenset(SQL.rows(conn, "quarantined.sql", params, shape="tuple"))


def store_page(
    conn: psycopg.Connection,
    source: str,
    table: Sl323Table,
    rows: list[Row],
    *,
    data_dir: Path,
    now: datetime,
    cap: datetime,
) -> Summary | None:
    """Check and load one page of ``table`` and move the source's mark to its latest TM (never
    past ``cap``, the poll's now in remote time: a station clock running ahead must not move
    the mark over rows still to come), all in one transaction. None when the page held
    nothing new (the overlap read again): like an unchanged HTTP feed, it is not reported."""
    ingest_source = f"sl323-db:{source}/{table.name}"
    mark = min(max(remote_time(r["TM"]) for r in rows), cap)
    with conn.transaction():
        ctx = Context(conn=conn, data_dir=data_dir, source=ingest_source, now=now)
        batch, records = page_batch(table, rows, ctx)
        known = _quarantined(conn, ingest_source, records)
        sha256, size = page_digest(ingest_source, rows, now)
        with conn.transaction() as page:
            summary = load_batch(conn, batch, ingest_source, sha256, size, known=known)
            fresh = bool(summary.loaded.get(table.target) or summary.problems)
            if not fresh:
                raise psycopg.Rollback(page)  # nothing new: no ingest row, no event
        conn.execute(SQL("mark_put.sql"), {"source": source, "table": table.name, "tm": mark})
    return summary if fresh else None
