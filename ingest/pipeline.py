"""The shared ingest pipeline: fetch → parse → validate → normalise → load → record provenance.

Every feed module only turns a file into a :class:`Batch` (rows for tables plus the problems it
found); this module does the rest the same way for all of them: content-hash idempotence, one
transaction per file, set-based loading with per-row fallback so one bad record never sinks the
good ones, the quarantine, the provenance row and the NOTIFY event.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, Protocol

import pandas as pd
import psycopg
from psycopg import sql

from riskmap.geo.db.copy import copy_frame
from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.errors import DataError, InvalidArgumentError

SQL = SqlFiles("riskmap.ingest.sql")

log = logging.getLogger("riskmap.ingest")

RECORD = "_record"  # optional frame column naming each row's place in the file ("line 12")
EVENT_CHANNEL = "riskmap_events"
Status = Literal["loaded", "partial", "rejected", "duplicate"]


class FeedReadError(DataError):
    """The file cannot be read at all: it is rejected whole and nothing is written."""


@dataclass(frozen=True)
class Problem:
    """One quarantined record: where it is, which field, and why."""

    record: str
    field: str | None
    reason: str
    raw: str | None = None

    def __str__(self) -> str:
        where = f"{self.record}, field {self.field}" if self.field else self.record
        return f"{where}: {self.reason}"


@dataclass
class TableLoad:
    """Rows for one table. ``key`` names the unique columns that make a row a duplicate."""

    table: str
    frame: pd.DataFrame
    key: tuple[str, ...] | None = None
    on_conflict: Literal["ignore", "update"] = "ignore"


AfterLoad = Callable[[psycopg.Connection, int], dict[str, int]]


@dataclass
class Batch:
    """What a feed made of one file."""

    kind: str
    loads: list[TableLoad] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    after_load: AfterLoad | None = None  # e.g. apply CAP references, compute village rainfall
    event: dict = field(default_factory=dict)  # extra fields for the NOTIFY payload


@dataclass
class Context:
    """What a parser may use: lookups through ``conn`` (read only) and the data store."""

    conn: psycopg.Connection
    data_dir: Path
    source: str
    now: datetime = field(default_factory=lambda: datetime.now(UTC))


class Feed(Protocol):
    """A feed kind: recognises its files and parses them into a Batch."""

    kind: str
    description: str

    def sniff(self, path: Path, head: bytes) -> bool: ...

    def parse(self, path: Path, ctx: Context) -> Batch: ...


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


# -- registry ------------------------------------------------------------------------------------

_FEEDS: dict[str, Feed] = {}


def register(feed: Feed) -> Feed:
    """Add a feed kind (feed modules call this at import)."""
    _FEEDS[feed.kind] = feed
    return feed


def feeds() -> dict[str, Feed]:
    """All feed kinds, importing the bundled feed modules once."""
    from riskmap.ingest.feeds import load_all

    load_all()
    return dict(_FEEDS)


def detect(path: Path, head: bytes, available: dict[str, Feed]) -> Feed:
    """The feed whose sniff accepts the file; an unknown file names the kinds tried."""
    for feed in available.values():
        try:
            if feed.sniff(path, head):
                return feed
        except Exception:  # a buggy sniff must not break detection of the others, but is said
            log.warning("sniff of %s raised on %s", feed.kind, path, exc_info=True)
    raise FeedReadError(
        f"{path}: cannot tell what kind of feed this is; pass --kind (one of"
        f" {', '.join(sorted(available))})"
    )


# -- the pipeline ----------------------------------------------------------------------------


def _digest(path: Path) -> tuple[str, int]:
    """SHA-256 and size, streamed so a huge file never sits in memory."""
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


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
) -> Summary:
    """Ingest one file in one transaction; returns what was loaded, skipped and quarantined.

    The same content (same kind, same SHA-256) is never loaded twice. A file that cannot be read
    at all is rejected with one message and no data written (its provenance row is kept).
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
    ctx = Context(conn=conn, data_dir=data_dir, source=source)
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
    return _load(conn, batch, source, sha256, size)


def _reject(
    conn: psycopg.Connection, source: str, kind: str, sha256: str, size: int, message: str
) -> Summary:
    with conn.transaction():
        ingest_id = conn.execute(
            SQL("reject_log.sql"),
            {"kind": kind, "source": source, "sha256": sha256, "bytes": size, "message": message},
        ).fetchone()[0]
    return Summary(source, kind, "rejected", ingest_id=ingest_id, message=message)


def _load(conn: psycopg.Connection, batch: Batch, source: str, sha256: str, size: int) -> Summary:
    problems = list(batch.problems)
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
            n, dup, bad = _load_table(conn, load, ingest_id)
            loaded[load.table] = loaded.get(load.table, 0) + n
            duplicates += dup
            problems.extend(bad)
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


# -- loading one table ----------------------------------------------------------------------

_columns_cache: dict[str, list[str]] = {}


def table_columns(conn: psycopg.Connection, table: str) -> list[str]:
    """Insertable columns of ``table`` (cached per process)."""
    if table not in _columns_cache:
        rows = conn.execute(SQL("table_columns.sql"), {"table": table}).fetchall()
        if not rows:
            raise InvalidArgumentError(f"no table {table!r} to load into")
        _columns_cache[table] = [r[0] for r in rows]
    return _columns_cache[table]


def _insert_statement(load: TableLoad, staging: str, columns: list[str]) -> sql.Composed:
    cols = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    stmt = sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {}").format(
        sql.Identifier(load.table), cols, cols, sql.Identifier(staging)
    )
    if load.key is None:
        return stmt
    key = sql.SQL(", ").join(sql.Identifier(c) for c in load.key)
    if load.on_conflict == "ignore":
        return stmt + sql.SQL(" ON CONFLICT ({}) DO NOTHING").format(key)
    rest = [c for c in columns if c not in load.key]
    updates = sql.SQL(", ").join(
        sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(c), sql.Identifier(c)) for c in rest
    )
    return stmt + sql.SQL(" ON CONFLICT ({}) DO UPDATE SET {}").format(key, updates)


_staging_serial = iter(range(1, 1 << 62))


def _staging_table(conn: psycopg.Connection, table: str, columns: list[str]) -> str:
    """A temporary table with just ``columns`` of ``table`` (types only: constraints, identity
    and defaults stay with the target, which checks them on the final INSERT)."""
    name = f"_stage_{table}_{next(_staging_serial)}"
    conn.execute(
        sql.SQL("CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA").format(
            sql.Identifier(name),
            sql.SQL(", ").join(sql.Identifier(c) for c in columns),
            sql.Identifier(table),
        )
    )
    return name


def _load_table(
    conn: psycopg.Connection, load: TableLoad, ingest_id: int
) -> tuple[int, int, list[Problem]]:
    """Load one frame: COPY into a staging table, then one INSERT … ON CONFLICT.

    If the set insert breaks a constraint, rows are retried one by one (each in a savepoint) and
    the failures quarantined with the database's reason, so good rows are always kept.
    Returns (rows inserted or updated, duplicates skipped, problems).
    """
    frame = load.frame
    if frame.empty:
        return 0, 0, []
    labels = (
        frame[RECORD].astype(str).tolist()
        if RECORD in frame
        else [f"record {i + 1}" for i in range(len(frame))]
    )
    frame = frame.drop(columns=[RECORD], errors="ignore").reset_index(drop=True)
    known = table_columns(conn, load.table)
    if "ingest_id" in known and "ingest_id" not in frame:
        frame = frame.assign(ingest_id=ingest_id)
    unknown = [c for c in frame.columns if c not in known]
    if unknown:
        raise InvalidArgumentError(f"{load.table} has no column(s) {unknown}")
    dup_in_file = 0
    if load.key is not None:
        dupes = frame.duplicated(list(load.key), keep="last")
        dup_in_file = int(dupes.sum())
        keep = ~dupes.to_numpy()
        frame = frame[keep].reset_index(drop=True)
        labels = [lab for lab, k in zip(labels, keep, strict=True) if k]
    columns = [str(c) for c in frame.columns]
    staging = _staging_table(conn, load.table, columns)
    copy_frame(conn, staging, frame)
    try:
        with conn.transaction():
            inserted = conn.execute(_insert_statement(load, staging, columns)).rowcount
        return inserted, dup_in_file + len(frame) - inserted, []
    except psycopg.errors.IntegrityError:
        pass
    inserted, problems = _row_by_row(conn, load, frame, labels, columns)
    return inserted, dup_in_file + len(frame) - inserted - len(problems), problems


def _row_by_row(
    conn: psycopg.Connection,
    load: TableLoad,
    frame: pd.DataFrame,
    labels: list[str],
    columns: list[str],
) -> tuple[int, list[Problem]]:
    inserted = 0
    problems: list[Problem] = []
    one = _staging_table(conn, load.table, columns)
    stmt = _insert_statement(load, one, columns)
    for i, label in enumerate(labels):
        conn.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(one)))
        copy_frame(conn, one, frame.iloc[[i]])
        try:
            with conn.transaction():
                inserted += conn.execute(stmt).rowcount
        except psycopg.errors.IntegrityError as exc:
            diag = exc.diag
            problems.append(
                Problem(
                    label,
                    diag.column_name or diag.constraint_name,
                    (diag.message_primary or str(exc)).strip(),
                    json.dumps(_row_dict(frame, i), ensure_ascii=False, default=str)[:2000],
                )
            )
    return inserted, problems


def _row_dict(frame: pd.DataFrame, i: int) -> dict:
    row = frame.iloc[i].to_dict()
    return {k: (v.wkt if hasattr(v, "wkt") else v) for k, v in row.items()}


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
