"""The synthetic villages and rain grids of the zonal-scale bench (bench/zonal_scale.py).

Villages are Voronoi cells of seeded random points, clipped to a square whose size grows with
the count so a village covers ~2.3 cells on average (from under half a cell to ~7 cells), on a
0.01° lon/lat rainfall grid far from the demo counties.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import shapely
import xarray as xr
from affine import Affine
from pyproj import CRS

CELL = 0.01  # degrees
VILLAGE_DEG2 = 0.00025  # mean village area: 0.5° × 0.5° per 1,000 villages (~2.5 cells)
MARGIN = 2  # cells of grid around the villages
LON0, LAT0 = 80.0, 35.0  # far from the demo counties, so no other village touches the grids
DATASET = "bench-zonal"  # the dataset of the villages the bench loads into admin_unit
T0 = datetime(2031, 7, 1, tzinfo=UTC)
CRS4326 = CRS.from_epsg(4326)


def villages(n: int, seed: int = 1) -> tuple[np.ndarray, float]:
    """``n`` Voronoi cells tiling a square of side ``sqrt(n × VILLAGE_DEG2)`` at (LON0, LAT0)."""
    side = float(np.sqrt(n * VILLAGE_DEG2))
    rng = np.random.default_rng(seed)
    xy = np.column_stack([LON0 + rng.uniform(0, side, n), LAT0 + rng.uniform(0, side, n)])
    box = shapely.box(LON0, LAT0, LON0 + side, LAT0 + side)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(xy), extend_to=box))
    cells = shapely.intersection(cells, box)
    return cells[shapely.get_type_id(cells) == 3], side


def grid_for(side: float) -> tuple[Affine, tuple[int, int]]:
    """A 0.01° north-up grid covering the village square with MARGIN cells around it."""
    n = int(np.ceil(side / CELL)) + 2 * MARGIN
    return Affine(CELL, 0, LON0 - MARGIN * CELL, 0, -CELL, LAT0 - MARGIN * CELL + n * CELL), (n, n)


def field(shape: tuple[int, int], seed: int, nodata: float = 0.0) -> np.ndarray:
    """Rain in mm: a few Gaussian storms over gamma noise; ``nodata`` share of cells NaN."""
    rng = np.random.default_rng(seed)
    h, w = shape
    out = rng.gamma(1.5, 0.8, shape)
    for _ in range(4):
        sigma = rng.uniform(0.05, 0.2) * max(h, w)
        gy = np.exp(-(((np.arange(h) - rng.uniform(0, h)) / sigma) ** 2))
        gx = np.exp(-(((np.arange(w) - rng.uniform(0, w)) / sigma) ** 2))
        out += rng.uniform(10, 60) * np.outer(gy, gx)
    if nodata:
        out[rng.random(shape) < nodata] = np.nan
    return out


def write_hour(path: Path, lon: np.ndarray, lat: np.ndarray, mm: np.ndarray, end: float) -> Path:
    """A CF NetCDF rain grid of one hour ending at ``end`` (epoch seconds): what the grid
    feed ingests, for the zonal benches."""
    xr.Dataset(
        {
            "precipitation": (("time", "lat", "lon"), mm[None].astype(np.float32),
                              {"units": "mm", "standard_name": "precipitation_amount"}),
            "time_bnds": (("time", "nv"), np.array([[end - 3600, end]])),
        },
        coords={
            "time": ("time", [end], {"units": "seconds since 1970-01-01", "bounds": "time_bnds"}),
            "lat": ("lat", lat, {"units": "degrees_north"}),
            "lon": ("lon", lon, {"units": "degrees_east"}),
        },
    ).to_netcdf(path)  # fmt: skip
    return path


def write_grid(path: Path, transform: Affine, shape: tuple[int, int], seed: int) -> Path:
    """A NetCDF rain-grid file of one hour (ending ``seed + 1`` hours after T0) of :func:`field`."""
    h, w = shape
    lon = transform.c + CELL * (np.arange(w) + 0.5)
    lat = transform.f - CELL * (np.arange(h) + 0.5)
    end = (T0 + timedelta(hours=seed + 1)).timestamp()
    return write_hour(path, lon, lat, field(shape, seed), end)
