"""Provenance of device readings: one ingest_log row per run of a reading server (or per HTTP
request), grown at each flushed batch, with the batch's quarantined packets and readings and a
live event for the alarm engine. The readings themselves are stored by
:func:`riskmap.geo.worksafety.readings.store_readings`."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import psycopg

from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.worksafety.readings import Stored

SQL = SqlFiles("riskmap.ingest.worksafety.sql")


@dataclass(frozen=True)
class Refused:
    """A packet or reading quarantined: where it came from, what, and why."""

    record: str  # "packet from 127.0.0.1:5123", "a01001 of MN WK01 at 2026-06-07T00:55Z"
    field: str | None
    reason: str
    raw: str | None = None


def open_log(conn: psycopg.Connection, kind: str, source: str) -> int:
    """A provenance row for one run of a reading server (kind e.g. 'hj212'); returns its id."""
    run = uuid.uuid4().hex  # a run is not content: its digest only has to be unique
    params = {
        "kind": kind,
        "source": source,
        "sha256": hashlib.sha256(run.encode()).hexdigest(),
        "message": f"run {run[:12]}",
    }
    return SQL.rows(conn, "open_log.sql", params, shape="tuple")[0][0]


def _text(value: str | None) -> str | None:
    """Text PostgreSQL takes: a device's garbage may hold NUL, which no text column stores (and
    one refused row must not sink the batch that quarantines it)."""
    return None if value is None else value.replace("\x00", "\\x00")


def record_batch(
    conn: psycopg.Connection,
    ingest_id: int,
    source: str,
    stored: Stored,
    refused: Sequence[Refused],
    nbytes: int,
    span: tuple[datetime, datetime] | None,
) -> None:
    """A flushed batch's quarantined records, counts on its run's log row, and a live event."""
    for r in refused:
        conn.execute(
            SQL("quarantine.sql"),
            {
                "ingest_id": ingest_id,
                "source": source,
                "record": _text(r.record),
                "field": _text(r.field),
                "reason": _text(r.reason),
                "raw": _text(r.raw),
            },
        )
    conn.execute(
        SQL("progress_log.sql"),
        {
            "id": ingest_id,
            "bytes": nbytes,
            "loaded": stored.inserted,
            "duplicate": stored.duplicates,
            "quarantined": len(refused),
            "valid_from": span[0] if span else None,
            "valid_to": span[1] if span else None,
        },
    )
    if stored.inserted:
        payload = {
            "type": "ws_readings",
            "ingest_id": ingest_id,
            "rows": stored.inserted,
            "from": span[0].isoformat() if span else None,
            "to": span[1].isoformat() if span else None,
        }
        conn.execute(SQL("notify.sql"), {"payload": json.dumps(payload)})
