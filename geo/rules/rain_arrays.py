"""Observed rain windows for the rules summed from the grid arrays in numpy (migration 0022).

``village_rain_windows`` in SQL unnests every grid row into village rows and aggregates them:
~15 s for 12 hourly grids over 500,000 villages. When the analyses of the windows' span are
what hourly (or any fixed-step) grids give — only ``village_rain_grid`` rows, all observations
(issued at their end), all of one length and on one chain ending at the latest — every village
takes the "simple" path of the SQL functions (its periods are a subset of those), so its window
is the plain sum of its values: a few vector additions here. Anything else (village rows of
analyses, periods of several lengths, rolling sums) returns None and the SQL functions decide.
Villages no analysis covers fall back to their rain gauge exactly as in
``village_rain_windows``. Tested equal to it in tests/geo/test_rain_arrays.py.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
import psycopg

from riskmap.geo.db.float8_arrays import FLOAT8_ARRAY_OID, Float8ArrayLoader
from riskmap.geo.db.sqlfiles import SqlFiles

if TYPE_CHECKING:
    from riskmap.geo.rules.villages import Villages

SQL = SqlFiles("riskmap.geo.rules.sql")
_POSITIONS: OrderedDict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = OrderedDict()
_LOCK = threading.Lock()
_CACHED_SETS = 8
_ARRAYS: OrderedDict[tuple[int, str], tuple[np.ndarray, np.ndarray]] = OrderedDict()
# 24 hourly rows at 500,000 villages (8 MB each): two days of windows at a county's scale
_CACHED_ARRAY_BYTES = 200 * 2**20


def rain_windows(
    conn: psycopg.Connection, at: datetime, hours: list[int], villages: Villages
) -> dict[int, np.ndarray] | None:
    """Rain (mm) of every village over (at - h, at] for each h, NaN where none; None when the
    periods are not all simple grid rows (see the module doc)."""
    hs = sorted({int(h) for h in hours if h > 0})
    if not hs or at is None:
        return {}
    first = at - timedelta(hours=hs[-1])
    has_rows, ids, starts, ends, issues, sets, versions = conn.execute(
        SQL("rain_grid_periods.sql"), {"at": at, "first": first}
    ).fetchone()
    if has_rows or any(i != e for i, e in zip(issues, ends, strict=True)):
        return None
    lengths = {e - s for s, e in zip(starts, ends, strict=True)}
    if len(lengths) > 1 or (lengths and len({(at - e) % min(lengths) for e in ends}) > 1):
        return None
    n = len(villages)
    rain = {h: np.zeros(n) for h in hs}
    cov_s = {h: np.zeros(n) for h in hs}
    seen = {h: np.zeros(n, dtype=bool) for h in hs}
    rows = zip(ids, starts, ends, sets, versions, strict=True)
    for grid_id, start, end, set_id, version in rows:
        pos, ok = _positions(conn, set_id, villages)
        mean, cov = _arrays(conn, grid_id, version)
        present = ok & ~np.isnan(mean)
        seconds = (end - start).total_seconds()
        # the row's values spread over the villages once, zero where it has none: adding 0.0
        # leaves a sum as it was, so each window below is one vector addition
        if len(pos) == n and _in_order(pos):  # the row is in the villages' order: no scatter
            values = np.where(present, mean, 0.0)
            weighted = np.where(present, cov * seconds, 0.0)
            hit = present
        else:
            where = pos[present]
            values = np.zeros(n)
            values[where] = mean[present]
            weighted = np.zeros(n)
            weighted[where] = cov[present] * seconds
            hit = np.zeros(n, dtype=bool)
            hit[where] = True
        for h in hs:
            if start >= at - timedelta(hours=h):
                rain[h] += values
                cov_s[h] += weighted
                seen[h] |= hit
    gauge = _gauge(conn, at, hs, villages)
    out = {}
    for h in hs:
        qpe = seen[h] & (cov_s[h] > 0)  # village_rain_windows: analyses with some coverage win
        out[h] = np.where(qpe, rain[h], gauge.get(h, np.full(n, np.nan)))
    return out


def _in_order(pos: np.ndarray) -> bool:
    """Whether positions are 0, 1, 2, … (a village order stored as the villages are)."""
    return bool(len(pos) == 0 or (pos[0] == 0 and np.all(np.diff(pos) == 1)))


def _arrays(conn, grid_id: int, version: str) -> tuple[np.ndarray, np.ndarray]:
    """Village means and coverages of one grid row, cached by row version (xmin and ctid:
    any update makes a new one): the rules run after every new grid, and the other rows of
    their windows are the ones they read the hour before (2 × 4 MB each at 500,000 villages,
    ~50 ms for the server to send)."""
    key = (grid_id, version)
    with _LOCK:
        hit = _ARRAYS.get(key)
        if hit is not None:
            _ARRAYS.move_to_end(key)
            return hit
    with conn.cursor(binary=True) as cur:
        cur.adapters.register_loader(FLOAT8_ARRAY_OID, Float8ArrayLoader)
        mean, cov = cur.execute(SQL("rain_grid_arrays.sql"), {"id": grid_id}).fetchone()
    mean.flags.writeable = False  # shared by every later run
    cov.flags.writeable = False
    with _LOCK:
        _ARRAYS[key] = (mean, cov)
        size = sum(a.nbytes + b.nbytes for a, b in _ARRAYS.values())
        while size > _CACHED_ARRAY_BYTES and len(_ARRAYS) > 1:
            _, (a, b) = _ARRAYS.popitem(last=False)
            size -= a.nbytes + b.nbytes
    return mean, cov


def _gauge(conn, at: datetime, hs: list[int], villages: Villages) -> dict[int, np.ndarray]:
    rows = conn.execute(
        SQL("rain_windows_of.sql"), {"product": "gauge", "at": at, "hours": hs}
    ).fetchall()
    out = {}
    for hours, codes, rain, _ in rows:
        arr = np.full(len(villages), np.nan)
        pos, found = villages.index(codes)
        arr[pos] = np.asarray(rain, dtype=float)[found]
        out[hours] = arr
    return out


def _positions(conn, set_id: str, villages: Villages) -> tuple[np.ndarray, np.ndarray]:
    """Where each village of a stored village order sits in ``villages``, and which are there.

    Cached per (village order, villages version): both only change with the villages.
    """
    key = (set_id, villages.version or "")
    with _LOCK:
        hit = _POSITIONS.get(key) if villages.version else None
        if hit is not None:
            _POSITIONS.move_to_end(key)
            return hit
    (codes,) = conn.execute(SQL("rain_grid_set.sql"), {"id": set_id}).fetchone()
    pos = np.zeros(len(codes), dtype=np.intp)
    ok = np.zeros(len(codes), dtype=bool)
    known = [i for i, c in enumerate(codes) if c is not None]
    found_pos, found = villages.index(codes[i] for i in known)
    idx = np.asarray(known, dtype=np.intp)[found]
    pos[idx] = found_pos
    ok[idx] = True
    if not villages.version:
        return pos, ok
    with _LOCK:
        _POSITIONS[key] = (pos, ok)
        while len(_POSITIONS) > _CACHED_SETS:
            _POSITIONS.popitem(last=False)
    return pos, ok
