"""What a feed hands the pipeline: a :class:`Batch` of table loads and quarantined problems.

Every feed module turns a file into a Batch and needs nothing else from the pipeline; the
contract lives apart from the machinery so feeds import only this (and ``registry``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

import pandas as pd
import psycopg

from riskmap.geo.errors import DataError

if TYPE_CHECKING:
    from cryptography import x509

RECORD = "_record"  # optional frame column naming each row's place in the file ("line 12")


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
    """Rows for one table. ``key`` names the unique columns that make a row a duplicate.

    ``on_conflict``: "ignore" keeps the stored row, "update" replaces it, "update_own"
    replaces it only when the same ingest stored it (a later row of one file wins over an
    earlier one, rows of earlier ingests are kept); the table needs an ``ingest_id`` column.

    ``binary``: stage the rows with a binary COPY (floats, integers, UTC times and strings
    only; any other column falls back to CSV), for feeds whose volume makes the CSV text the
    cost (station rows)."""

    table: str
    frame: pd.DataFrame
    key: tuple[str, ...] | None = None
    on_conflict: Literal["ignore", "update", "update_own"] = "ignore"
    binary: bool = False
    # the rows already deduplicated and encoded (riskmap.ingest.tables.Prepared), made by a
    # feed's worker thread while the chunk before loads; None: load_table prepares them
    prepared: object | None = field(default=None, repr=False, compare=False)


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
    """What a parser may use: lookups through ``conn`` (read only), the data store, and the
    certificates trusted to sign feed content (CAP XML signatures)."""

    conn: psycopg.Connection
    data_dir: Path
    source: str
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    trusted_certs: tuple[x509.Certificate, ...] = ()


class Feed(Protocol):
    """A feed kind: recognises its files and parses them into a Batch."""

    kind: str
    description: str

    def sniff(self, path: Path, head: bytes) -> bool: ...

    def parse(self, path: Path, ctx: Context) -> Batch: ...
