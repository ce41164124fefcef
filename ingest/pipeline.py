"""The shared ingest pipeline: fetch → parse → validate → normalise → load → record provenance.

Every feed module only turns a file into a :class:`~riskmap.ingest.batch.Batch` (rows for
tables plus the problems it found); this module does the rest the same way for all of them:
content-hash idempotence, one transaction per file, set-based loading with per-row fallback so
one bad record never sinks the good ones (``tables``), the quarantine, the provenance row and the
NOTIFY event.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import psycopg
from psycopg import sql

from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.errors import InvalidArgumentError
from riskmap.geo.filehash import file_sha256
from riskmap.ingest.batch import Batch, Context, FeedReadError, Problem
from riskmap.ingest.registry import detect, feeds
from riskmap.ingest.tables import load_table

if TYPE_CHECKING:
    from cryptography import x509

SQL = SqlFiles("riskmap.ingest.sql")

log = logging.getLogger("riskmap.ingest")

EVENT_CHANNEL = "riskmap_events"
Status = Literal["loaded", "partial", "rejected", "duplicate"]


@dataclass
class Summary:
    """What `riskmap ingest file` prints."""

    source: str
    kind: str
    status: Status
    ingest_id: int | None = None
    loaded: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    problems: list[Problem] = field(default_factory=list)
    message: str | None = None

    @property
    def rows_loaded(self) -> int:
        return sum(self.loaded.values())


def _digest(path: Path) -> tuple[str, int]:
    """SHA-256 and size, streamed so a huge file never sits in memory."""
    return file_sha256(path), path.stat().st_size


def _head(path: Path, n: int = 4096) -> bytes:
    with path.open("rb") as fh:
        return fh.read(n)


def ingest_file(
    conn: psycopg.Connection,
    path: Path,
    *,
    data_dir: Path,
    kind: str | None = None,
    source: str | None = None,
    trusted_certs: tuple[x509.Certificate, ...] = (),
) -> Summary:
    """Ingest one file in one transaction; returns what was loaded, skipped and quarantined.

    The same content (same kind, same SHA-256) is never loaded twice. A file that cannot be read
    at all is rejected with one message and no data written (its provenance row is kept).
    ``trusted_certs`` are the certificates that may sign feed content (CAP XML signatures).
    """
    source = source or str(path)
    # Work joins a transaction the caller has open (as savepoints; the caller commits);
    # otherwise each file commits on its own.
    caller_txn = conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE
    available = feeds()
    if kind is not None and kind not in available:
        raise InvalidArgumentError(
            f"unknown feed kind {kind!r}; known: {', '.join(sorted(available))}"
        )
    if not path.is_file():
        raise FeedReadError(f"{path}: no such file")
    sha256, size = _digest(path)
    try:
        feed = available[kind] if kind else detect(path, _head(path), available)
    except FeedReadError as exc:
        if not caller_txn:
            conn.rollback()
        return _reject(conn, source, kind or "unknown", sha256, size, str(exc))
    seen = conn.execute(SQL("seen_before.sql"), {"kind": feed.kind, "sha256": sha256}).fetchone()
    if seen:
        if not caller_txn:
            conn.rollback()
        return Summary(
            source,
            feed.kind,
            "duplicate",
            ingest_id=seen[0],
            duplicates=seen[2] + seen[3],
            message="same content already ingested",
        )
    ctx = Context(conn=conn, data_dir=data_dir, source=source, trusted_certs=trusted_certs)
    try:
        # the parser only looks things up; whatever it did is undone, and only its own part:
        # a caller's open transaction is left alone (ingest work then joins it as savepoints)
        with conn.transaction(force_rollback=True):
            batch = feed.parse(path, ctx)
    except FeedReadError as exc:
        if not caller_txn:
            conn.rollback()
        return _reject(conn, source, feed.kind, sha256, size, str(exc))
    except Exception as exc:  # a library choking on the bytes is the file's fault, said plainly
        log.debug("parser %s failed on %s", feed.kind, path, exc_info=True)
        if not caller_txn:
            conn.rollback()
        return _reject(
            conn,
            source,
            feed.kind,
            sha256,
            size,
            f"{path.name}: cannot be read as {feed.kind}: {type(exc).__name__}: {exc}",
        )
    if not caller_txn:
        conn.rollback()  # end the read-only transaction our own look-ups opened
    try:
        return load_batch(conn, batch, source, sha256, size)
    except FeedReadError as exc:  # a streaming feed found the file unreadable part-way
        if not caller_txn:
            conn.rollback()
        return _reject(conn, source, feed.kind, sha256, size, str(exc))


def _reject(
    conn: psycopg.Connection, source: str, kind: str, sha256: str, size: int, message: str
) -> Summary:
    with conn.transaction():
        ingest_id = conn.execute(
            SQL("reject_log.sql"),
            {"kind": kind, "source": source, "sha256": sha256, "bytes": size, "message": message},
        ).fetchone()[0]
    return Summary(source, kind, "rejected", ingest_id=ingest_id, message=message)


def load_batch(
    conn: psycopg.Connection,
    batch: Batch,
    source: str,
    sha256: str,
    size: int,
    *,
    known: frozenset[tuple[str, str, str]] = frozenset(),
) -> Summary:
    """Load a parsed batch with its provenance row, quarantine and NOTIFY, in one transaction
    (a savepoint inside the caller's: the database source commits its mark with the rows).

    ``known``: (record, field or "", reason) of problems already quarantined, not recorded
    again (the database source reads its overlap at every poll; files pass none)."""
    refused: list[Problem] = []  # rows the database refused
    loaded: dict[str, int] = {}
    duplicates = 0
    with conn.transaction():
        ingest_id = conn.execute(
            SQL("insert_log.sql"),
            {
                "kind": batch.kind,
                "source": source,
                "sha256": sha256,
                "bytes": size,
                "valid_from": batch.valid_from,
                "valid_to": batch.valid_to,
            },
        ).fetchone()[0]
        for load in batch.loads:
            n, dup, bad = load_table(conn, load, ingest_id)
            loaded[load.table] = loaded.get(load.table, 0) + n
            duplicates += dup
            refused.extend(bad)
        # read after the loads: a streaming feed finds its problems while they run
        problems = [
            p
            for p in [*batch.problems, *refused]
            if (p.record, p.field or "", p.reason) not in known
        ]
        if batch.after_load is not None:
            for table, n in batch.after_load(conn, ingest_id).items():
                loaded[table] = loaded.get(table, 0) + n
        for p in problems:
            conn.execute(
                SQL("insert_quarantine.sql"),
                {
                    "ingest_id": ingest_id,
                    "source": source,
                    "record": p.record,
                    "field": p.field,
                    "reason": p.reason,
                    "raw": p.raw,
                },
            )
        status: Status = "partial" if problems else "loaded"
        message = f"{len(problems)} record(s) quarantined" if problems else None
        conn.execute(
            SQL("finish_log.sql"),
            {
                "id": ingest_id,
                "status": status,
                "loaded": sum(loaded.values()),
                "duplicate": duplicates,
                "quarantined": len(problems),
                "tables": json.dumps(loaded),
                "message": message,
                "valid_from": batch.valid_from,
                "valid_to": batch.valid_to,
            },
        )
        payload = {
            "type": "ingest",
            "kind": batch.kind,
            "ingest_id": ingest_id,
            "status": status,
            "rows": loaded,
            "valid_to": batch.valid_to.isoformat() if batch.valid_to else None,
            **batch.event,
        }
        conn.execute(SQL("notify.sql"), {"payload": json.dumps(payload, ensure_ascii=False)})
    return Summary(source, batch.kind, status, ingest_id, loaded, duplicates, problems, message)


def heartbeat(conn: psycopg.Connection, name: str, detail: dict | None = None) -> None:
    """Record that a service is alive (read by /healthz)."""
    with conn.transaction():
        conn.execute(SQL("heartbeat.sql"), {"name": name, "detail": json.dumps(detail or {})})


def summarise(summaries: Iterable[Summary]) -> dict[str, int]:
    """Totals over several files, for the runner's log lines."""
    out = {"files": 0, "rows": 0, "duplicates": 0, "quarantined": 0, "rejected": 0}
    for s in summaries:
        out["files"] += 1
        out["rows"] += s.rows_loaded
        out["duplicates"] += s.duplicates
        out["quarantined"] += len(s.problems)
        out["rejected"] += s.status == "rejected"
    return out


def forget(conn: psycopg.Connection, sources: list[str]) -> int:
    """Delete what the ingests of ``sources`` wrote, and their provenance, so they can be
    replayed from scratch (the demo does this before replaying its storm). Returns ingests
    forgotten."""
    with conn.transaction():
        ids = [r[0] for r in conn.execute(SQL("ingests_of_sources.sql"), {"sources": sources})]
        if not ids:
            return 0
        for (table,) in conn.execute(SQL("ingest_tables.sql")).fetchall():
            conn.execute(
                sql.SQL("DELETE FROM {} WHERE ingest_id = ANY(%s)").format(sql.Identifier(table)),
                (ids,),
            )
        conn.execute("DELETE FROM ingest_log WHERE id = ANY(%s)", (ids,))
    return len(ids)
