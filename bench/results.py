"""The one benchmark table: each bench records its measures here as rows.

A row is one measure: riskmap's figure, the named peer's figure measured in the same run, their
ratio, the target and whether it passed. ``python -m bench`` prints the table at the end and
writes it as JSON with the machine described (issue 19).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Row:
    bench: str  # the bench's name (`python -m bench --list`)
    measure: str  # what is measured, e.g. "SL 323 rows/s"
    riskmap: float | None  # riskmap's figure
    unit: str  # "rows/s", "ms", "×", ...
    peer: str | None = None  # the named peer, e.g. "psycopg executemany"
    peer_value: float | None = None  # the peer's figure in the same run, same unit
    ratio: float | None = None  # riskmap / peer as the bench defines it (see `better`)
    target: str | None = None  # the target in words, e.g. "≥ 100,000 rows/s" or "< 2×"
    passed: bool | None = None  # None: no target
    note: str = ""
    extra: dict = field(default_factory=dict)


_rows: list[Row] = []


def record(row: Row) -> Row:
    """Keep one row for the table (and return it, so a bench can print it too)."""
    _rows.append(row)
    return row


def rows() -> list[Row]:
    return list(_rows)


def as_dicts() -> list[dict]:
    return [asdict(r) for r in _rows]


def clear() -> None:
    _rows.clear()
