"""Archive → per-village annual maxima: village-hours per second on 1 and 2 local Dask workers,
against a named peer and a floor, and peak memory against archive length.

* riskmap: ``riskmap.geo.archive`` (lazy NetCDF archive, ``W @ X`` per time chunk, running sums
  across chunks, per-year maxima) on a LocalCluster of 1 and 2 single-threaded workers
  (cluster start-up not timed); the scaling ratio is 2 workers / 1 worker.
* peer, on a short slice: plain xarray + exactextract per time step — ``exact_extract`` (area
  weighted mean) over each hourly grid, then pandas rolling sums and per-year maxima.
* floor: the bare sparse product ``W @ X`` on the slice already in memory (no I/O, no sums).
* memory: the peak RSS (client + workers, sampled every 0.1 s) for 1, 3 and 12 months of the
  same archive: it must not grow with the archive's length.

Synthetic data: ``riskmap.geo.archive.synth`` over a 2° × 2° region at 0.05°, villages random
squares of 0.02–0.08°. ``BENCH_QUICK=1``: fewer villages, months and hours (< 20 s).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from bench.results import Row, record
from riskmap.geo.archive import source, stats, synth
from riskmap.geo.archive.run import PeakRss
from riskmap.geo.zonal import ZonalWeights

NAME = "archive"
# a week per chunk: even the 1-month archive keeps both workers busy, so the memory figures
# compare archive lengths, not one busy worker against two
CHUNK_HOURS = 168
SPEC = synth.GridSpec(110.0, 26.0, 112.0, 28.0, 0.05)


def _sizes() -> tuple[int, tuple[int, ...], int]:
    """(villages, archive lengths in months, peer slice hours)."""
    if os.environ.get("BENCH_QUICK") == "1":
        return 200, (1, 2, 3), 24
    return 2000, (1, 3, 12), 168


def _villages(n: int) -> list[shapely.Polygon]:
    rng = np.random.default_rng(19)
    size = rng.uniform(0.02, 0.08, n)
    x = rng.uniform(SPEC.west, SPEC.east - 0.08, n)
    y = rng.uniform(SPEC.south, SPEC.north - 0.08, n)
    return [shapely.box(a, b, a + s, b + s) for a, b, s in zip(x, y, size, strict=True)]


def _archive(folder: Path, months: int):
    start = datetime(2015, 1, 1, tzinfo=UTC)
    end = datetime(2015 + (months // 12), months % 12 + 1, 1, tzinfo=UTC)
    return source.open_archive(folder, start, end, chunk_hours=CHUNK_HOURS)


def _peer(folder: Path, geoms, hours: int) -> tuple[float, pd.DataFrame]:
    """xarray + exactextract per hour, pandas rolling sums and yearly max: (seconds, 1 h max)."""
    import geopandas as gpd
    import xarray as xr
    from exactextract import exact_extract
    from exactextract.raster import NumPyRasterSource
    from pyproj import CRS

    frame = gpd.GeoDataFrame({"v": range(len(geoms))}, geometry=geoms, crs=4326)
    wkt = CRS.from_epsg(4326).to_wkt()
    began = time.perf_counter()
    with xr.open_dataset(folder / "rain_201501.nc") as ds:
        var = ds["precipitation_amount"]
        cols = {}
        for i in range(hours):
            grid = var.isel(time=i).values  # north-up as written
            raster = NumPyRasterSource(
                np.ma.masked_invalid(grid), SPEC.west, SPEC.south, SPEC.east, SPEC.north,
                srs_wkt=wkt,
            )  # fmt: skip
            got = exact_extract(
                raster, frame, "mean(coverage_weight=area_spherical_m2)", output="pandas"
            )
            cols[pd.Timestamp(ds["time"].values[i])] = got.iloc[:, 0].to_numpy()
    series = pd.DataFrame(cols).T  # hours × villages
    years = (series.index + pd.Timedelta(hours=8) - pd.Timedelta(seconds=1)).year
    maxima = {}
    for d in stats.DURATIONS:
        rolled = series.rolling(d, min_periods=d).sum()
        maxima[d] = rolled.groupby(years).max()
    return time.perf_counter() - began, maxima[1]


def run(url: str | None = None) -> Iterator[str]:
    from distributed import Client, LocalCluster

    n_villages, lengths, slice_hours = _sizes()
    base = Path(tempfile.mkdtemp(prefix="riskmap-bench-archive-", dir="/tmp"))
    try:
        t0 = time.perf_counter()
        synth.generate(SPEC, 2015, 1, 19, base, months=max(lengths))
        yield (
            f"synthetic archive: {max(lengths)} month(s) of {SPEC.shape[0]}×{SPEC.shape[1]}"
            f" cells in {time.perf_counter() - t0:.1f} s; {n_villages} villages"
        )
        geoms = _villages(n_villages)
        longest = _archive(base, max(lengths))
        w = ZonalWeights.build(geoms, [str(i) for i in range(n_villages)], longest.shape,
                               longest.transform, longest.crs)  # fmt: skip

        rates = {}
        peaks = {}
        for workers in (1, 2):
            with (
                LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                             dashboard_address=None, memory_limit="2GiB") as cluster,
                Client(cluster) as client,
            ):  # fmt: skip
                for months in lengths if workers == 2 else (max(lengths),):
                    arch = _archive(base, months)
                    with PeakRss() as rss:
                        began = time.perf_counter()
                        maxima = stats.compute_maxima(arch, w.matrix, w.codes, client)
                        seconds = time.perf_counter() - began
                    if months == max(lengths):
                        rates[workers] = n_villages * len(arch.ends) / seconds
                        ours = maxima
                    if workers == 2:
                        peaks[months] = rss.peak / 2**20
        for workers in (1, 2):
            row = record(Row(NAME, f"archive → annual maxima, {workers} worker(s)",
                             rates[workers], "village-h/s",
                             note=f"{max(lengths)} months, {n_villages} villages"))  # fmt: skip
            yield f"{row.measure}: {row.riskmap:,.0f} {row.unit}"
        scaling = rates[2] / rates[1]
        row = record(Row(NAME, "scaling 2 workers / 1 worker", scaling, "×",
                         peer="1 worker", peer_value=1.0, ratio=scaling,
                         target="≥ 1.5× (2 cores)", passed=scaling >= 1.5))  # fmt: skip
        verdict = "ok" if row.passed else "MISSED"
        yield f"{row.measure}: {scaling:.2f}× (target {row.target}: {verdict})"

        # the peer and the floor on the first hours
        peer_s, peer_max = _peer(base, geoms, slice_hours)
        peer_rate = n_villages * slice_hours / peer_s
        arch = _archive(base, 1)
        x = arch.data[:slice_hours].compute().reshape(slice_hours, -1).T
        x = np.nan_to_num(x)
        reps = max(1, int(2e7 // max(1, n_villages * slice_hours)))
        began = time.perf_counter()
        for _ in range(reps):
            w.matrix @ x
        floor_rate = n_villages * slice_hours * reps / (time.perf_counter() - began)
        ratio = rates[2] / peer_rate
        row = record(Row(NAME, "archive → annual maxima vs per-step exactextract",
                         rates[2], "village-h/s", peer="xarray + exactextract per step + pandas",
                         peer_value=peer_rate, ratio=ratio, target="≥ 10× the peer",
                         passed=ratio >= 10,
                         note=f"peer on {slice_hours} h; riskmap 2 workers"))  # fmt: skip
        yield (f"vs xarray + exactextract per step: {rates[2]:,.0f} vs {peer_rate:,.0f}"
               f" village-h/s = {ratio:.0f}× ({'ok' if row.passed else 'MISSED'})")  # fmt: skip
        row = record(Row(NAME, "archive → annual maxima vs the bare sparse product",
                         rates[2], "village-h/s", peer="W @ X alone (floor)",
                         peer_value=floor_rate, ratio=rates[2] / floor_rate))  # fmt: skip
        yield (f"floor W @ X alone: {floor_rate:,.0f} village-h/s; the pipeline runs at"
               f" {rates[2] / floor_rate:.1%} of it")  # fmt: skip

        # the slice's 1 h maxima agree with the peer's (same windows: the first hours only)
        short = _archive(base, 1)
        short.data = short.data[:slice_hours]
        short.ends = short.ends[:slice_hours]
        mine = stats.compute_maxima(short, w.matrix, w.codes).years[2015].best[:, 0]
        diff = float(np.nanmax(np.abs(mine - peer_max.loc[2015].to_numpy())))
        yield f"1 h maxima of the slice vs the peer's: max |difference| {diff:.2e} mm"

        grow = peaks[max(lengths)] / peaks[min(lengths)]
        for months, peak in peaks.items():
            record(Row(NAME, f"peak RSS, {months} month(s), 2 workers", peak, "MB"))
        row = record(Row(NAME, "peak RSS growth with archive length", grow, "×",
                         peer=f"{min(lengths)} month(s)", peer_value=peaks[min(lengths)],
                         ratio=grow, target="< 1.25× (bounded)", passed=grow < 1.25,
                         note=", ".join(f"{m} mo {p:.0f} MB"
                                        for m, p in peaks.items())))  # fmt: skip
        yield (
            f"peak RSS (client + 2 workers): {row.note}; growth {grow:.2f}×"
            f" ({'ok' if row.passed else 'MISSED'})"
        )
        del ours
    finally:
        shutil.rmtree(base, ignore_errors=True)
