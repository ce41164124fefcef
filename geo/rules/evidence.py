"""The evidence of one proposal as columns: per village code, the numbers that fired it.

A rule can fire for 500,000 villages; one dict per village costs over a second to build, and
the engine itself reads only the few villages its texts quote. :class:`EvidenceTable` keeps the
numbers as the arrays the rule evaluated (rounded to 3 decimals as the evidence states them) and
makes a village's dict when it is asked for, equal to the dict the engine used to build:
``{variable: number, …, label: text, …, "condition": …, "level": …}`` without the NULLs. It is a
read-only mapping; asked for every village (``items()``, ``==``), it builds them all once, column
by column, and keeps them (the lifecycle's JSON writer takes any mapping: ``warnings/store.py``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np

Row = dict[str, float | str]


def rounded3_array(values: np.ndarray) -> np.ndarray:
    """``round(x, 3)`` of every value, bit for bit Python's ``round``, as a float array (NaN
    stays NaN).

    ``rint(x·1000) / 1000`` is Python's result whenever ``x·1000`` rounds to the same integer
    as the exact product does (the division by 1000 is then correctly rounded in both): true
    unless the float product lies within an ulp of a half-integer, and those few (and the
    non-finite and huge) take Python's ``round``."""
    x = np.asarray(values, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = x * 1000.0
        near_half = np.abs(scaled - np.floor(scaled) - 0.5) <= np.abs(np.spacing(scaled))
        slow = ~np.isfinite(scaled) | (np.abs(scaled) >= 2.0**52) | near_half
        out = np.rint(scaled) / 1000.0
    for i in np.flatnonzero(slow).tolist():
        v = float(x[i])
        out[i] = v if v != v else round(v, 3)
    return out


class EvidenceTable(Mapping[str, Row]):
    """Per village code (sorted in byte order, as the engine orders villages) its evidence
    dict, made on demand from columns.

    Parameters
    ----------
    codes
        The villages, in the proposal's order.
    positions
        Their positions in ``villages`` (the engine's village arrays), for the texts.
    villages
        The engine's villages the positions refer to (the texts look names up there).
    numbers
        Per variable, its values rounded to 3 decimals (NaN: not in the evidence).
    labels
        Per label, its values (None: not in the evidence; others said with ``str``).
    condition, level
        The condition that fired and the level, the same for every village.
    """

    def __init__(
        self,
        codes: list[str],
        positions: np.ndarray,
        villages: object,
        numbers: dict[str, np.ndarray],
        labels: dict[str, np.ndarray],
        condition: str,
        level: str,
    ) -> None:
        self.codes = codes
        self.positions = positions
        self.villages = villages
        self.numbers = numbers
        self.labels = labels
        self.condition = condition
        self.level = level
        self._sorted: np.ndarray | None = None  # the codes as an array, for lookups
        self._whole: dict[str, Row] | None = None

    def __len__(self) -> int:
        return len(self.codes)

    def __iter__(self) -> Iterator[str]:
        return iter(self.codes)

    def _find(self, code: object) -> int:
        if not isinstance(code, str) or not self.codes:
            return -1
        if self._sorted is None:
            self._sorted = np.asarray(self.codes, dtype=str)
        j = int(np.searchsorted(self._sorted, code))
        return j if j < len(self.codes) and self.codes[j] == code else -1

    def __contains__(self, code: object) -> bool:
        return self._find(code) >= 0

    def __getitem__(self, code: str) -> Row:
        if self._whole is not None:
            return self._whole[code]
        j = self._find(code)
        if j < 0:
            raise KeyError(code)
        return self.row(j)

    def row(self, j: int) -> Row:
        """The evidence of the ``j``-th village (a new dict)."""
        ev: Row = {}
        for k, col in self.numbers.items():
            x = float(col[j])
            if x == x:
                ev[k] = x
        for k, col in self.labels.items():
            s = col[j]
            if s is not None:
                ev[k] = str(s)
        ev["condition"] = self.condition
        ev["level"] = self.level
        return ev

    def whole(self) -> dict[str, Row]:
        """Every village's evidence as one dict (built once: column by column, then rows)."""
        if self._whole is None:
            keys = [*self.numbers, *self.labels]
            columns = [[None if x != x else x for x in a.tolist()] for a in self.numbers.values()]
            columns += [
                [None if s is None else str(s) for s in a.tolist()] for a in self.labels.values()
            ]
            rows = zip(*columns, strict=True) if columns else [()] * len(self.codes)
            out: dict[str, Row] = {}
            for code, row in zip(self.codes, rows, strict=True):
                ev: Row = {k: x for k, x in zip(keys, row, strict=True) if x is not None}
                ev["condition"] = self.condition
                ev["level"] = self.level
                out[code] = ev
            self._whole = out
        return self._whole

    def items(self):  # type: ignore[override]  # the whole dict's view: fast for every village
        return self.whole().items()

    def keys(self):  # type: ignore[override]  # dict.update(table) reads keys, then each
        return self.whole().keys()

    def values(self):  # type: ignore[override]
        return self.whole().values()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, EvidenceTable):
            other = other.whole()
        if not isinstance(other, Mapping):
            return NotImplemented
        return self.whole() == dict(other.items())

    __hash__ = None  # type: ignore[assignment]  # a mapping: unhashable like a dict

    def __repr__(self) -> str:
        return f"EvidenceTable({len(self)} villages, level {self.level})"
