"""The villages the rules engine evaluates over: one ordered array set that every input aligns to.

Its own module because both the SQL inputs (``inputs``) and the grid-rain arrays
(``rain_arrays``) align to it; neither should import the other for it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import psycopg

from riskmap.geo.db.sqlfiles import SqlFiles

SQL = SqlFiles("riskmap.geo.rules.sql")
_LOCK = threading.Lock()
_CACHE: dict[tuple, Villages] = {}


@dataclass(frozen=True)
class Villages:
    """The villages the engine evaluates over, in code order."""

    codes: np.ndarray  # str, sorted
    names: np.ndarray  # str
    counties: np.ndarray  # county name of each village
    version: str | None = None  # village_version tokens read with them (migrations 0022, 0055)

    def __len__(self) -> int:
        return len(self.codes)

    @cached_property
    def _code_list(self) -> list[str]:
        return self.codes.tolist()

    @cached_property
    def _counties(self) -> tuple[np.ndarray, list[str]]:
        """Each village's county as a number, and the county names (as ``str`` says them)."""
        numbered: dict[str, int] = {}
        ids = [numbered.setdefault(str(c), len(numbered)) for c in self.counties.tolist()]
        return np.asarray(ids, dtype=np.intp), list(numbered)

    def county_names(self, pos: np.ndarray) -> str:
        """The counties of the villages at ``pos``, each once in the order they first come,
        joined by 、 (empty names left out): what a headline names."""
        ids, names = self._counties
        area = ids[pos]
        if not len(area):
            return ""
        distinct, first = np.unique(area, return_index=True)
        said = (names[i] for i in distinct[np.argsort(first)].tolist())
        return "、".join(dict.fromkeys(c for c in said if c))

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
    """All villages in code order, with their county's name (for message templates).

    The last villages read are kept in memory with their version (codes, names and counties
    change it: migration 0055) and used again while the database's version is theirs: the rules
    run every hour over villages that seldom change, and reading 500,000 of them takes a
    second. The key includes the database (a cluster's databases share nothing)."""
    (version,) = SQL.one(conn, "villages_version.sql", shape="tuple")
    key = (conn.info.host, conn.info.port, conn.info.dbname, version)
    with _LOCK:
        hit = _CACHE.get(key)
    if hit is not None:
        return hit
    villages = _read(conn)
    if villages.version is not None:
        with _LOCK:
            _CACHE.clear()  # one set of villages kept: the service reads one database
            _CACHE[(*key[:3], villages.version)] = villages
    return villages


def _read(conn: psycopg.Connection) -> Villages:
    version, codes, names, counties = SQL.one(conn, "villages.sql", shape="tuple")
    code_arr = np.array(codes, dtype=str)
    name_arr = np.array(names, dtype=object)
    county_arr = np.array(counties, dtype=object)
    if len(code_arr) > 1 and not np.all(code_arr[:-1] < code_arr[1:]):  # never seen; be sure
        order = np.argsort(code_arr, kind="stable")
        code_arr, name_arr, county_arr = code_arr[order], name_arr[order], county_arr[order]
    for a in (code_arr, name_arr, county_arr):
        a.flags.writeable = False  # shared by every run while the villages are unchanged
    return Villages(codes=code_arr, names=name_arr, counties=county_arr, version=version)
