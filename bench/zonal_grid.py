"""Village rainfall from a grid: cached sparse weights (riskmap's path) against exactextract.

Two measurements on the Mayang demo county (222 villages) and a 0.01° county grid:

* ingest latency — from a new grid file to per-village values committed in ``village_rain``,
  through the real pipeline: the first grid of a grid definition (weights built), a later one
  (weights from memory), and one after a restart (weights from the .npz cache);
* the repeated per-grid work — ``ZonalWeights.stats`` (mean, max and coverage in one compiled
  pass over the weights, as the pipeline calls it) against the peer, ``exactextract`` computing
  mean and max from the polygons for every grid, as a pipeline without cached weights would.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import geopandas as gpd
import numpy as np
import psycopg
import shapely
from affine import Affine
from exactextract import exact_extract
from exactextract.raster import NumPyRasterSource
from pyproj import CRS

from bench import databases
from bench.results import Row, record, scaled
from bench.zonal_data import write_hour
from riskmap.geo import zonal, zonal_cache
from riskmap.geo.demo.county import generate
from riskmap.geo.demo.load import load
from riskmap.ingest.pipeline import ingest_file

BUNDLED = Path(__file__).resolve().parents[1] / "data" / "boundaries" / "hunan_demo.geojson"
CELL = 0.01
LON0, LAT_TOP, NX, NY = 109.20, 28.20, 90, 90  # the county and a margin
T0 = datetime(2030, 7, 1, tzinfo=UTC)
REPEATS = scaled(50, 5)


def _field(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:NY, 0:NX]
    storm = 40 * np.exp(-(((xx - rng.uniform(0, NX)) ** 2 + (yy - rng.uniform(0, NY)) ** 2) / 300))
    return storm + rng.gamma(1.5, 0.8, (NY, NX))


def _write_grid(path: Path, seed: int, hour: int) -> Path:
    lon = LON0 + CELL * (np.arange(NX) + 0.5)
    lat = LAT_TOP - CELL * (np.arange(NY) + 0.5)
    end = (T0 + timedelta(hours=hour + 1)).timestamp()
    return write_hour(path, lon, lat, _field(seed), end)


def _load_demo(url: str) -> None:
    demo = generate(
        "431226",
        villages=None,
        seed=7,
        bundled_path=BUNDLED,
        out_dir=Path(tempfile.mkdtemp(prefix="riskmap-bench-zonal-")),
        roster_start=datetime(2026, 7, 1, tzinfo=UTC),
    )
    with psycopg.connect(url) as conn:
        load(conn, demo)


def _villages(conn: psycopg.Connection) -> gpd.GeoDataFrame:
    rows = conn.execute(
        "SELECT code, ST_AsBinary(geom) FROM admin_unit WHERE level = 'village'"
        " AND gb2260 = '431226' ORDER BY code"
    ).fetchall()
    return gpd.GeoDataFrame(
        {"code": [r[0] for r in rows]}, geometry=shapely.from_wkb([r[1] for r in rows]), crs=4326
    )


def _timed_ingest(conn, path: Path, store: Path) -> float:
    started = time.perf_counter()
    summary = ingest_file(conn, path, data_dir=store, kind="rain-grid")
    elapsed = time.perf_counter() - started
    assert summary.status == "loaded", summary.message
    return elapsed


def run(url: str) -> Iterator[str]:
    """Yield report lines: ingest latency per cache state, then sparse vs exactextract. (The
    quick run: on the copy of the set-up's county the stations bench used.)"""
    url = databases.county_copy(url)
    with psycopg.connect(url) as conn:
        if not conn.execute(
            "SELECT count(*) FROM admin_unit WHERE level = 'village' AND gb2260 = '431226'"
        ).fetchone()[0]:
            _load_demo(url)
    work = Path(tempfile.mkdtemp(prefix="riskmap-bench-grids-"))
    try:
        yield from _ingest_latency(url, work)
        yield from _repeated_product(url)
    finally:
        with psycopg.connect(url) as conn:
            conn.execute(
                "DELETE FROM village_rain_grid WHERE source_ref IN (SELECT id FROM grid_file)"
            )
            conn.execute(
                "DELETE FROM village_rain_row WHERE source_ref IN (SELECT id FROM grid_file)"
            )
            conn.execute("DELETE FROM grid_file")
            conn.execute("DELETE FROM grid_definition")
            conn.execute("DELETE FROM ingest_log WHERE kind = 'rain-grid'")
        shutil.rmtree(work, ignore_errors=True)


def _ingest_latency(url: str, work: Path) -> Iterator[str]:
    zonal_cache.clear_memory_cache()
    store = work / "store"
    with psycopg.connect(url) as conn:
        cold = _timed_ingest(conn, _write_grid(work / "g0.nc", 0, 0), store)
        warm = [_timed_ingest(conn, _write_grid(work / f"g{i}.nc", i, i), store) for i in (1, 2, 3)]
        zonal_cache.clear_memory_cache()
        disk = _timed_ingest(conn, _write_grid(work / "g4.nc", 4, 4), store)
        n = conn.execute("SELECT count(*) FROM village_rain WHERE valid_end > %s", (T0,)).fetchone()
    villages = n[0] // 5
    for label, seconds in (
        ("first grid (weights built)", cold),
        ("next grid (weights in memory), median of 3", float(np.median(warm))),
        ("after a restart (weights from .npz)", disk),
    ):
        record(
            Row(
                "grid",
                f"grid file → village_rain committed, {villages} villages: {label}",
                seconds * 1000,
                "ms",
            )
        )
    yield (
        f"grid file → village_rain committed ({NX}x{NY} cells at {CELL}°, {n[0] // 5} villages):"
        f" first grid (weights built) {cold * 1000:.0f} ms, next grids (weights in memory)"
        f" {np.median(warm) * 1000:.0f} ms, after restart (weights from .npz) {disk * 1000:.0f} ms"
    )


def _repeated_product(url: str) -> Iterator[str]:
    with psycopg.connect(url) as conn:
        frame = _villages(conn)
    transform = Affine(CELL, 0, LON0, 0, -CELL, LAT_TOP)
    crs = CRS.from_epsg(4326)
    started = time.perf_counter()
    weights = zonal.ZonalWeights.build(frame.geometry, frame["code"], (NY, NX), transform, crs)
    build_s = time.perf_counter() - started
    grids = [_field(100 + i) for i in range(REPEATS)]
    started = time.perf_counter()
    for g in grids:
        weights.stats(g)
    ours = (time.perf_counter() - started) / REPEATS
    started = time.perf_counter()
    for g in grids:
        raster = NumPyRasterSource(g, LON0, LAT_TOP - CELL * NY, LON0 + CELL * NX, LAT_TOP,
                                   srs_wkt=crs.to_wkt())  # fmt: skip
        peer_out = exact_extract(
            raster, frame, ["mean(coverage_weight=area_spherical_m2)", "max"], output="pandas"
        )
    peer = (time.perf_counter() - started) / REPEATS
    diff = np.nanmax(np.abs(weights.mean(grids[-1]) - peer_out.iloc[:, 0].to_numpy()))
    record(
        Row(
            "grid",
            f"per-village mean+max+coverage of a grid, {len(frame)} villages",
            ours * 1e6,
            "µs",
            "exactextract mean+max",
            peer * 1e6,
            extra={"build_ms": build_s * 1000, "max_abs_diff_mm": float(diff)},
        )
    )
    yield (
        f"per-village mean+max+coverage, {len(frame)} villages, {NX * NY:,} cells: sparse weights"
        f" {ours * 1e6:,.0f} µs/grid vs exactextract {peer * 1e6:,.0f} µs/grid"
        f" -> {peer / ours:.0f}x faster (weights built once in {build_s * 1000:.0f} ms;"
        f" max |Δmean| {diff:.1e} mm)"
    )
