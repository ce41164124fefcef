"""Per-village annual maxima of 1, 3, 6, 12 and 24 h rainfall from an archive of hourly grids.

The pipeline, one Dask task chain per time chunk of the archive:

1. **village means** — the chunk (hours × cells) goes through the cached zonal weights as one
   sparse × dense product: ``W @ X`` over the valid cells divided by ``W @ valid``
   (villages × hours, area-true means as :mod:`riskmap.geo.zonal` defines them);
2. **running sums** — the chunk's series with the *tail of the previous chunk* (its last 23
   hours) in front, so windows that cross a chunk boundary are summed whole;
3. **per-year maxima** — each chunk reduces to, per year it touches, each village's largest
   window sum of every duration, the window's end, and the village's hours of data; the client
   merges these small results as they arrive, so memory holds a few chunks whatever the
   archive's length.

Rules (also in the table's migration, 0046):

* **Year** — Beijing time (UTC+8), as Chinese hydrological yearbooks count years. An hour is
  labelled by its end, and a window belongs to the year of its end with years right-closed:
  the window ending at 00:00 Beijing on 1 January belongs to the year that just ended (its
  last hour fell in it). ``ends_at`` is stored in UTC.
* **Missing** — a village's hour is missing when no file covers it or none of its cells is
  valid; a window with any missing hour is not counted.
* **Complete** — ``hours`` counts the village's hours of data in the year; the year is
  complete when they are at least 90 % of the year's hours (8760 or 8784).
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd
from scipy import sparse

DURATIONS = (1, 3, 6, 12, 24)
DEPTH = max(DURATIONS) - 1  # hours of the previous chunk a window may reach back to
BEIJING = np.timedelta64(8 * 3600, "s")
COMPLETE_SHARE = 0.9


def village_means(block: np.ndarray, matrix: sparse.csr_matrix) -> np.ndarray:
    """(villages × hours) area-weighted means of the valid cells of a (hours, h, w) block."""
    x = np.asarray(block, dtype=np.float64).reshape(block.shape[0], -1).T  # cells × hours
    valid = ~np.isnan(x)
    num = matrix @ np.where(valid, x, 0.0)
    den = matrix @ valid.astype(np.float64)
    return np.divide(num, den, out=np.full(num.shape, np.nan), where=den > 0)


def beijing_years(ends: np.ndarray) -> np.ndarray:
    """The Beijing-time year of each window end (right-closed: 00:00 on 1 Jan is the old year)."""
    local = ends + BEIJING - np.timedelta64(1, "s")
    return local.astype("datetime64[Y]").astype(np.int64) + 1970


@dataclass
class YearPart:
    """A chunk's (or merged) figures of one year: per village × duration max and its end."""

    best: np.ndarray  # (villages, durations) largest window sum, -inf if none
    ends: np.ndarray  # (villages, durations) datetime64[s] end of that window
    hours: np.ndarray  # (villages,) hours of data

    def merge(self, other: YearPart) -> None:
        better = other.best > self.best
        tie = (other.best == self.best) & (other.ends < self.ends)  # earliest window wins ties
        take = better | tie
        self.best = np.where(take, other.best, self.best)
        self.ends = np.where(take, other.ends, self.ends)
        self.hours = self.hours + other.hours


def chunk_maxima(
    tail: np.ndarray | None, means: np.ndarray, ends: np.ndarray
) -> dict[int, YearPart]:
    """Per-year maxima of the windows ending in this chunk; ``tail`` is the previous chunk's
    series (its last ``DEPTH`` hours are used), None for the first chunk."""
    v, h = means.shape
    if tail is None:
        tail = np.full((v, DEPTH), np.nan)
    tail = tail[:, -DEPTH:]
    if tail.shape[1] < DEPTH:  # a previous chunk shorter than a day: pad as missing
        tail = np.concatenate([np.full((v, DEPTH - tail.shape[1]), np.nan), tail], axis=1)
    series = np.concatenate([tail, means], axis=1)
    valid = ~np.isnan(series)
    c = np.zeros((v, series.shape[1] + 1))
    np.cumsum(np.where(valid, series, 0.0), axis=1, out=c[:, 1:])
    n = np.zeros((v, series.shape[1] + 1), dtype=np.int64)
    np.cumsum(valid, axis=1, out=n[:, 1:])
    lo, hi = DEPTH + 1, DEPTH + h + 1  # cumsum index just after each core hour (slices)
    sums = np.empty((len(DURATIONS), v, h))
    for k, d in enumerate(DURATIONS):
        np.subtract(c[:, lo:hi], c[:, lo - d : hi - d], out=sums[k])
        np.maximum(sums[k], 0.0, out=sums[k])  # cumsum round-off never makes rain negative
        sums[k][(n[:, lo:hi] - n[:, lo - d : hi - d]) != d] = -np.inf
    years = beijing_years(ends)
    out: dict[int, YearPart] = {}
    edges = [0, *(np.flatnonzero(np.diff(years)) + 1).tolist(), h]  # hours are in time order
    for a, b in itertools.pairwise(edges):
        part = sums[:, :, a:b]
        arg = part.argmax(axis=2)  # first (earliest) maximum
        best = np.take_along_axis(part, arg[:, :, None], axis=2)[:, :, 0]
        out[int(years[a])] = YearPart(
            best.T.copy(), ends[a:b][arg].T.copy(), valid[:, DEPTH + a : DEPTH + b].sum(axis=1)
        )
    return out


def _tail(means: np.ndarray) -> np.ndarray:
    """The last ``DEPTH`` hours of a chunk's series: all the next chunk needs of it."""
    return means[:, -DEPTH:].copy()


@dataclass
class Maxima:
    codes: np.ndarray
    years: dict[int, YearPart] = field(default_factory=dict)

    def add(self, parts: dict[int, YearPart]) -> None:
        for year, part in parts.items():
            if year in self.years:
                self.years[year].merge(part)
            else:
                self.years[year] = part

    def frame(self) -> pd.DataFrame:
        """One row per village, duration and year with a counted window (the table's rows)."""
        frames = []
        for year, part in sorted(self.years.items()):
            total = (
                (np.datetime64(f"{year + 1}-01-01") - np.datetime64(f"{year}-01-01"))
                .astype("timedelta64[h]")
                .astype(int)
            )
            for k, d in enumerate(DURATIONS):
                ok = np.isfinite(part.best[:, k])
                if not ok.any():
                    continue
                frames.append(
                    pd.DataFrame(
                        {
                            "village_code": self.codes[ok].astype(str),
                            "duration_h": d,
                            "year": year,
                            "max_mm": part.best[ok, k],
                            "ends_at": pd.to_datetime(part.ends[ok, k]).tz_localize("UTC"),
                            "hours": part.hours[ok].astype(int),
                            "complete": part.hours[ok] >= COMPLETE_SHARE * total,
                        }
                    )
                )
        cols = ["village_code", "duration_h", "year", "max_mm", "ends_at", "hours", "complete"]
        if not frames:
            return pd.DataFrame(columns=cols)
        return pd.concat(frames, ignore_index=True)[cols]


def chunk_tasks(archive, matrix: sparse.csr_matrix) -> list:
    """One dask.delayed per time chunk: the chunk's per-year maxima."""
    import dask

    blocks = archive.data.to_delayed().ravel()
    bounds = np.cumsum((0, *archive.data.chunks[0]))
    w = dask.delayed(matrix, pure=True)  # one key: shipped to each worker once
    means = dask.delayed(village_means, pure=True)
    tail = dask.delayed(_tail, pure=True)
    reduce = dask.delayed(chunk_maxima, pure=True)
    out, prev = [], None
    for i, block in enumerate(blocks):
        m = means(block, w)
        out.append(reduce(prev, m, archive.ends[bounds[i] : bounds[i + 1]]))
        prev = tail(m)
    return out


@contextlib.contextmanager
def dask_client(scheduler: str | None, workers: int) -> Iterator[object]:
    """A distributed client: to ``scheduler`` (an address) or to a LocalCluster of ``workers``
    single-threaded worker processes, closed on exit."""
    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            memory_limit="2GiB",
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def compute_maxima(
    archive, matrix: sparse.csr_matrix, codes: np.ndarray, client=None, window: int | None = None
) -> Maxima:
    """Run the chunk tasks on ``client`` (distributed) or, when None, dask's threaded
    scheduler; merge each chunk's result as it arrives.

    On a cluster the chunks are submitted as a moving window (``window`` in flight, default
    twice the workers plus two), each chunk's tail passed on as a future: the scheduler never
    holds more than the window, so memory does not grow with the archive's length."""
    if client is None:
        import dask

        maxima = Maxima(np.asarray(codes))
        for parts in dask.compute(*chunk_tasks(archive, matrix), scheduler="threads"):
            maxima.add(parts)
        return maxima
    import dask
    from distributed import as_completed

    maxima = Maxima(np.asarray(codes))
    blocks = archive.data.to_delayed().ravel()
    bounds = np.cumsum((0, *archive.data.chunks[0]))
    if window is None:
        window = 2 * len(client.scheduler_info()["workers"]) + 2
    w = client.scatter(matrix, broadcast=True)
    means = dask.delayed(village_means, pure=True)
    tail = dask.delayed(_tail, pure=True)
    reduce = dask.delayed(chunk_maxima, pure=True)
    running = as_completed()
    prev = None
    for i, block in enumerate(blocks):
        m = means(block, w)
        done, prev = client.compute(
            [reduce(prev, m, archive.ends[bounds[i] : bounds[i + 1]]), tail(m)]
        )
        running.add(done)
        while running.count() >= window:
            fut = next(running)
            maxima.add(fut.result())
            fut.release()
    for fut in running:
        maxima.add(fut.result())
        fut.release()
    return maxima


def year_bounds_utc(first_year: int, last_year: int) -> tuple[datetime, datetime]:
    """The UTC instants that bound Beijing years first…last (00:00 +08 on 1 January)."""
    from datetime import UTC, timedelta, timezone

    bj = timezone(timedelta(hours=8))
    return (
        datetime(first_year, 1, 1, tzinfo=bj).astimezone(UTC),
        datetime(last_year + 1, 1, 1, tzinfo=bj).astimezone(UTC),
    )
