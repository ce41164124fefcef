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


def rain_windows(
    conn: psycopg.Connection, at: datetime, hours: list[int], villages: Villages
) -> dict[int, np.ndarray] | None:
    """Rain (mm) of every village over (at - h, at] for each h, NaN where none; None when the
    periods are not all simple grid rows (see the module doc)."""
    hs = sorted({int(h) for h in hours if h > 0})
    if not hs or at is None:
        return {}
    first = at - timedelta(hours=hs[-1])
    has_rows, ids, starts, ends, issues, sets = conn.execute(
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
    with conn.cursor(binary=True) as cur:
        cur.adapters.register_loader(FLOAT8_ARRAY_OID, Float8ArrayLoader)
        for grid_id, start, end, set_id in zip(ids, starts, ends, sets, strict=True):
            pos, ok = _positions(conn, set_id, villages)
            stmt = SQL("rain_grid_arrays.sql")
            mean, cov = cur.execute(stmt, {"id": grid_id}).fetchone()
            present = ok & ~np.isnan(mean)
            where = pos[present]
            values = mean[present]
            weighted = cov[present] * (end - start).total_seconds()
            for h in hs:
                if start >= at - timedelta(hours=h):
                    rain[h][where] += values
                    cov_s[h][where] += weighted
                    seen[h][where] = True
    gauge = _gauge(conn, at, hs, villages)
    out = {}
    for h in hs:
        qpe = seen[h] & (cov_s[h] > 0)  # village_rain_windows: analyses with some coverage win
        out[h] = np.where(qpe, rain[h], gauge.get(h, np.full(n, np.nan)))
    return out


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
