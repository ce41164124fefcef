"""The receiver's SQLite journal: what was played, what was a repeat, what came too late.

A terminal answers 200 only after the row is on disk (WAL, ``synchronous=FULL``), so a message
the dispatcher counts as delivered survives a power cut of the controller. The UNIQUE message
key makes "play once" hold however often at-least-once delivery repeats it.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from riskmap.geo.db.sqlfiles import load_sql

PACKAGE = "riskmap.api.receiver.sql"


def _sql(name: str) -> str:
    return load_sql(PACKAGE, name)


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Incoming:
    """One verified message, whichever way it came (JSON, EBM XML, MQTT)."""

    key: str  # the signed identity of the message (dedupe)
    idempotency_key: str  # riskmap's key, given back in the ack
    broadcast_id: int
    warning_id: int
    version: int
    msg_type: str
    village_code: str
    terminal_id: str
    protocol: str
    key_id: str
    text: str
    ack_url: str | None


@dataclass(frozen=True)
class Taken:
    """What the journal made of a message: played now, a repeat, or older than one played."""

    outcome: Literal["played", "duplicate", "stale"]
    row: dict[str, Any]


class Journal:
    """One connection shared by the event loop's worker threads, behind a lock."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_sql("schema.sql"))

    def take(self, msg: Incoming) -> Taken:
        """Record ``msg`` unless it is a repeat; a message older than a version of the same
        warning already played on the terminal is journaled as stale (never played)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                taken = self._take(msg)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return taken

    def take_many(self, msgs: list[Incoming]) -> list[Taken | Exception]:
        """Group commit: several messages in one transaction, so one fsync makes them all
        durable (a controller taking 200 terminals' messages at once would otherwise spend
        200 fsyncs). Each message runs in a savepoint: one that fails fails alone."""
        out: list[Taken | Exception] = []
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for msg in msgs:
                    self._db.execute("SAVEPOINT one")
                    try:
                        out.append(self._take(msg))
                    except Exception as exc:  # e.g. a constraint: that message only
                        self._db.execute("ROLLBACK TO one")
                        out.append(exc)
                    self._db.execute("RELEASE one")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return out

    def _take(self, msg: Incoming) -> Taken:
        old = self._db.execute(_sql("journal_find.sql"), {"key": msg.key}).fetchone()
        if old is not None:
            self._db.execute(_sql("journal_repeat.sql"), {"id": old["id"]})
            return Taken("duplicate", dict(old) | {"repeats": old["repeats"] + 1})
        newest = self._db.execute(
            _sql("journal_newest_played.sql"),
            {"warning_id": msg.warning_id, "terminal_id": msg.terminal_id},
        ).fetchone()[0]
        stale = newest is not None and newest > msg.version
        now = utc_now()
        row = self._db.execute(
            _sql("journal_insert.sql"),
            {
                **asdict(msg),
                "outcome": "stale" if stale else "played",
                "received_at": now,
                "played_at": None if stale else now,
            },
        ).fetchone()
        return Taken("stale" if stale else "played", dict(row))

    def _write(self, name: str, params: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute(_sql(name), params)

    def acked(self, row_id: int) -> None:
        self._write("journal_acked.sql", {"id": row_id, "at": utc_now()})

    def ack_failed(self, row_id: int, error: str) -> None:
        self._write("journal_ack_failed.sql", {"id": row_id, "error": error[:500]})

    def _rows(self, name: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self._db.execute(_sql(name), params or {}).fetchall()]

    def since(self, since: int, limit: int = 1000) -> list[dict[str, Any]]:
        return self._rows("journal_since.sql", {"since": since, "limit": limit})

    def unacked(self) -> list[dict[str, Any]]:
        return self._rows("journal_unacked.sql")

    def counts(self) -> dict[str, int]:
        return self._rows("journal_counts.sql")[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()
