"""A page of remote SL 323 rows as a :class:`~riskmap.ingest.batch.Batch`, through the very
checks and loads of the SL 323 files (:mod:`riskmap.ingest.feeds.hydro`): the same quarantine
reasons, the same tables, the first value of a (STCD, TM) kept."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from decimal import Decimal

import numpy as np
import pandas as pd

from riskmap.geo.vocabulary import BEIJING
from riskmap.ingest.batch import Batch, Context
from riskmap.ingest.feeds.hydro.checks import StationBook, check_frame
from riskmap.ingest.feeds.hydro.loads import rain_after_load, table_load
from riskmap.ingest.feeds.hydro.tables import KIND_SL323, PPTN, Sl323Table
from riskmap.ingest.feeds.hydro.times import py_datetime
from riskmap.ingest.sl323db.remote import RemoteError

Row = dict[str, object]


def remote_time(value: object) -> datetime:
    """A remote TM as the mark keeps it: the remote's naive time (a zoned one in Beijing time)."""
    if not isinstance(value, datetime):  # e.g. a varchar TM: its order is not the time's
        raise RemoteError(f"TM is not a date and time column (a {type(value).__name__})")
    if value.tzinfo is not None:
        value = value.astimezone(BEIJING).replace(tzinfo=None)
    return value


def time_text(value: object) -> object:
    """TM as the SL 323 files write it (a naive time is Beijing time; an offset is kept)."""
    return value.isoformat(sep=" ") if isinstance(value, datetime) else value


def record_label(table: Sl323Table, row: Row) -> str:
    """Where a row is: its table and key (``ST_RIVER_R STCD 61100002 TM 2026-07-14 08:00:00``)."""
    stcd = str(row.get("STCD") or "").strip()
    return f"{table.name} STCD {stcd} TM {time_text(row.get('TM'))}"


def _plain(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)
    return time_text(value)


def rows_frame(rows: list[Row]) -> pd.DataFrame:
    """The rows as the SL 323 readers hand them to the checks: upper-case SL 323 column names,
    TM as text, numbers as floats."""
    return pd.DataFrame([{k.upper(): _plain(v) for k, v in r.items()} for r in rows])


def page_digest(source: str, rows: list[Row], polled_at: datetime) -> tuple[str, int]:
    """SHA-256 and size of a page for its ``ingest_log`` row. The poll's time is part of it:
    two polls may read the same rows (the overlap), and each is its own ingest."""
    body = json.dumps([source, polled_at.isoformat(), rows], default=str, ensure_ascii=False)
    data = body.encode()
    return hashlib.sha256(data).hexdigest(), len(data)


def page_batch(table: Sl323Table, rows: list[Row], ctx: Context) -> tuple[Batch, list[str]]:
    """Check a page of ``table``: the batch that loads its good rows, and each row's label."""
    frame = rows_frame(rows)
    labels = np.array([record_label(table, r) for r in rows], dtype=object)
    checked = check_frame(table, frame, labels, StationBook(ctx.conn), ctx.now)
    times = checked.tm if checked.tm is not None else pd.Series(dtype="datetime64[ns, UTC]")
    start = py_datetime(times.min()) if len(times) else None
    end = py_datetime(times.max()) if len(times) else None
    batch = Batch(
        KIND_SL323,
        [table_load(table, checked.frame, ("stcd", "tm"))],
        checked.problems,
        valid_from=start,
        valid_to=end,
        after_load=rain_after_load(start, end) if table is PPTN else None,
    )
    return batch, labels.tolist()
