"""One archive run: open the archive, weight it to villages, reduce on Dask, store the maxima."""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg

from riskmap.geo.archive import source as archive_source
from riskmap.geo.archive import stats, store


@dataclass
class RunReport:
    source: str
    files: int
    hours: int
    hours_present: int
    villages: int
    rows: int
    chunks: int
    seconds: float
    peak_rss_mb: float  # client + local worker processes, sampled every 0.1 s
    parquet: Path | None


class PeakRss:
    """The peak summed RSS of this process and its children (LocalCluster workers), sampled."""

    def __init__(self, every: float = 0.1) -> None:
        self.every, self.peak = every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def sample(self) -> int:
        import psutil

        me = psutil.Process()
        total = me.memory_info().rss
        for child in me.children(recursive=True):
            with contextlib.suppress(psutil.Error):  # a worker ending between list and read
                total += child.memory_info().rss
        self.peak = max(self.peak, total)
        return total

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self.sample()

    def __enter__(self) -> PeakRss:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


def run_archive_stats(
    conn: psycopg.Connection,
    grids: str | Path,
    start: datetime,
    end: datetime,
    source: str,
    cache_dir: Path | None,
    *,
    scheduler: str | None = None,
    workers: int = 2,
    distributed: bool = True,
    parquet: Path | None = None,
    chunk_hours: int | None = None,
) -> RunReport:
    """Annual maxima of the hours ending in (start, end] → ``village_rain_annual_max`` rows of
    ``source`` (replaced in one transaction) and optionally GeoParquet.

    ``distributed=False`` runs on dask's threaded scheduler in this process (the demo's small
    archives: no cluster start-up); otherwise on ``scheduler`` or a LocalCluster of ``workers``.
    """
    if not source:
        raise ValueError("source label must not be empty")
    began = time.perf_counter()
    with PeakRss() as rss:
        archive = archive_source.open_archive(grids, start, end, chunk_hours)
        weights, geoms = store.weights_on_grid(
            conn, archive.crs, archive.transform, archive.shape, cache_dir
        )
        if not distributed:
            maxima = stats.compute_maxima(archive, weights.matrix, weights.codes)
        else:
            with stats.dask_client(scheduler, workers) as client:
                maxima = stats.compute_maxima(archive, weights.matrix, weights.codes, client)
        frame = maxima.frame()
        rows = store.replace_source(conn, source, frame)
        out = None
        if parquet is not None:
            out = store.write_geoparquet(frame, weights.codes, geoms, source, parquet)
    return RunReport(
        source,
        len(archive.files),
        len(archive.ends),
        archive.present,
        len(weights.codes),
        rows,
        len(archive.data.chunks[0]),
        time.perf_counter() - began,
        rss.peak / 2**20,
        out,
    )
