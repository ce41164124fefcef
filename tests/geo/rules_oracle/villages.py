"""Frozen copy of geo/rules/villages.py before issue 19's columnar engine (commit c7a6138):
the oracle tests/geo/test_rules_columnar.py compares the engine against. Not product code."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import psycopg

VILLAGES_SQL = """
SELECT (SELECT token FROM village_version),
       coalesce(array_agg(s.code), '{}'), coalesce(array_agg(s.name), '{}'),
       coalesce(array_agg(s.county), '{}')
FROM (
    SELECT v.code, v.name, coalesce(c.name, v.county_code) AS county
    FROM village v LEFT JOIN admin_unit c ON c.code = v.county_code
    ORDER BY v.code COLLATE "C"
) s
"""


@dataclass(frozen=True)
class Villages:
    """The villages the engine evaluates over, in code order."""

    codes: np.ndarray  # str, sorted
    names: np.ndarray  # str
    counties: np.ndarray  # county name of each village
    version: str | None = None  # village_version token read with them (migration 0022)

    def __len__(self) -> int:
        return len(self.codes)

    @cached_property
    def _code_list(self) -> list[str]:
        return self.codes.tolist()

    def index(self, codes: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
        """Positions of ``codes`` in the village order, and which of ``codes`` were found."""
        listed = codes if isinstance(codes, list) else list(codes)
        if len(listed) == len(self.codes) and listed == self._code_list:
            # every village in order (an input per village, in code order): no search needed
            return np.arange(len(listed), dtype=np.intp), np.ones(len(listed), dtype=bool)
        arr = np.asarray(listed, dtype=self.codes.dtype if len(self.codes) else str)
        if len(self.codes) == 0 or len(arr) == 0:
            return np.zeros(0, dtype=np.intp), np.zeros(len(arr), dtype=bool)
        pos = np.clip(np.searchsorted(self.codes, arr), 0, len(self.codes) - 1)
        found = self.codes[pos] == arr
        return pos[found], found


def fetch_villages(conn: psycopg.Connection) -> Villages:
    """All villages in code order, with their county's name (for message templates)."""
    version, codes, names, counties = conn.execute(VILLAGES_SQL).fetchone()
    code_arr = np.array(codes, dtype=str)
    name_arr = np.array(names, dtype=object)
    county_arr = np.array(counties, dtype=object)
    if len(code_arr) > 1 and not np.all(code_arr[:-1] < code_arr[1:]):  # never seen; be sure
        order = np.argsort(code_arr, kind="stable")
        code_arr, name_arr, county_arr = code_arr[order], name_arr[order], county_arr[order]
    return Villages(codes=code_arr, names=name_arr, counties=county_arr, version=version)
