"""The per-grid pass of :class:`~riskmap.geo.zonal.ZonalWeights`, compiled with numba.

One walk over the CSR weights gives each zone its mean, max and coverage together: numpy needs a
sparse product for the weighted sum, a second one (or a re-sum of the zones nodata touches) for
the valid weight and a gather plus ``fmax.reduceat`` for the max — three passes over the weights
where one does (issue 19: mean + max within 2× a bare ``W @ v``).

The additions run in the same order as scipy's CSR product (row by row, column order, from
0.0), without fast-math, so sums are bit for bit those of ``W @ where(valid, v, 0)`` and
``W @ valid``, and the divisions are numpy's. Serial on purpose: the pass is ~1.2× the bare
product already, and a ``prange`` version, twice as fast when both cores were free, took
15–20 ms (50–100×) whenever another process held a core (its threads wait for each other at
the end); numba's fallback threading layer (workqueue) is also unsafe for concurrent callers.
``nogil`` lets concurrent ingest threads run side by side instead.

Compiled code is cached on disk (``cache=True``: next to this file, or numba's user cache when
this folder is read-only); :func:`warm` compiles or loads it ahead of the first grid.
"""

from __future__ import annotations

import numba
import numpy as np


def _jit(fn):
    """``njit(cache=True, nogil=True)``, or without the disk cache when no folder is writable
    (numba refuses to decorate then, and a slower first grid beats no ingest)."""
    try:
        return numba.njit(cache=True, nogil=True)(fn)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return numba.njit(nogil=True)(fn)


@_jit
def _zone_stats(indptr, indices, data, values, total, inside, mean, top, cover):
    # unsigned positions: numba skips the negative-index wrap-around test, which otherwise
    # costs as much as the arithmetic (the indices are checked once, ZonalWeights._checked)
    one = np.uint64(1)
    start = np.uint64(indptr[0])
    for i in range(indptr.size - 1):
        end = np.uint64(indptr[i + 1])
        s = 0.0
        w = 0.0
        m = -np.inf
        found = False
        k = start
        while k < end:
            v = values[np.uint64(indices[k])]
            if v == v:  # not NaN (nodata)
                d = data[k]
                s += d * v
                w += d
                m = max(m, v)
                found = True
            k += one
        start = end
        mean[i] = s / w if w > 0 else np.nan
        top[i] = m if found else np.nan
        share = w / total[i] if total[i] > 0 else 0.0
        cover[i] = min(max(share * inside[i], 0.0), 1.0)


def zone_stats(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    values: np.ndarray,
    total: np.ndarray,
    inside: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per CSR row (zone): the weighted mean of the non-NaN ``values`` (Σ w·v / Σ w), their max
    (NaN where none) and the coverage ``clip(Σ w / total × inside, 0, 1)``."""
    n = indptr.size - 1
    mean, top, cover = np.empty(n), np.empty(n), np.empty(n)
    _zone_stats(indptr, indices, data, values, total, inside, mean, top, cover)
    return mean, top, cover


def warm() -> None:
    """Compile (or load from the cache) the kernel for both index widths scipy uses, so the
    first grid an ingest runner sees costs no compilation."""
    for dtype in (np.int32, np.int64):
        ptr = np.zeros(2, dtype=dtype)
        zone_stats(ptr, ptr[:0], np.zeros(0), np.zeros(1), np.zeros(1), np.zeros(1))
