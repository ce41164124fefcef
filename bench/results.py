"""The one benchmark table: each bench records its measures here as rows.

A row is one measure: riskmap's figure, the named peer's figure measured in the same run, their
ratio, the target and whether it passed. ``python -m bench`` prints the table at the end and
writes it as JSON with the machine described (issue 19; bench/report.py).

``BENCH_QUICK=1`` (``make bench QUICK=1``) asks every bench for a small version of itself
(:func:`quick`, :func:`scaled`): smaller sizes, shorter loads, the same table.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field


@dataclass
class Row:
    bench: str  # the bench's name (`python -m bench --list`)
    measure: str  # what is measured, e.g. "SL 323 rows/s"
    riskmap: float | None  # riskmap's figure
    unit: str  # "rows/s", "ms", "×", ...
    peer: str | None = None  # the named peer, e.g. "psycopg executemany"
    peer_value: float | None = None  # the peer's figure in the same run, same unit
    ratio: float | None = None  # riskmap / peer (filled in by `record` when both are known)
    target: str | None = None  # the target in words, e.g. "≥ 100,000 rows/s" or "< 2×"
    passed: bool | None = None  # None: no target (or not checkable in this run: see note)
    note: str = ""
    extra: dict = field(default_factory=dict)


_rows: list[Row] = []


def record(row: Row) -> Row:
    """Keep one row for the table (and return it, so a bench can print it too). The ratio is
    riskmap / peer when the bench gave both figures and no ratio of its own."""
    ours, peer = row.riskmap, row.peer_value
    if row.ratio is None and ours is not None and peer and math.isfinite(ours * peer):
        row.ratio = ours / peer
    _rows.append(row)
    return row


def rows() -> list[Row]:
    return list(_rows)


def as_dicts() -> list[dict]:
    return [asdict(r) for r in _rows]


def clear() -> None:
    _rows.clear()


def failed(bench: str, error: BaseException) -> Row:
    """The row of a bench that raised: the table goes on, the error is in it."""
    text = f"{type(error).__name__}: {error}".strip()
    return record(Row(bench, "bench raised", None, "", passed=False, note=text[:500]))


def quick() -> bool:
    """Whether this is the small run (``BENCH_QUICK=1``, ``make bench QUICK=1``)."""
    return os.environ.get("BENCH_QUICK", "").strip() not in ("", "0")


def scaled(full, small):
    """``small`` in the quick run, ``full`` otherwise (a size, a duration, a count)."""
    return small if quick() else full


def below(value: float | None, limit: float) -> bool | None:
    """A "< limit" target: None when nothing was measured."""
    return None if value is None else value < limit


def at_least(value: float | None, floor: float) -> bool | None:
    """A "≥ floor" target: None when nothing was measured."""
    return None if value is None else value >= floor


def at_size(check: bool | None, measured: int, target_size: int) -> tuple[bool | None, str]:
    """A target stated at ``target_size`` (villages, rows): checked only when the run measured at
    least that size (the quick run measures less, where meeting it would say nothing)."""
    if measured >= target_size:
        return check, ""
    return None, f"target is at {target_size:,}; this run measured {measured:,}"
