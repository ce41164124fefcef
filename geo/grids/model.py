"""What a grid reader returns, whatever the format: the grid's definition, its periods, its extent.

The GeoTIFF and NetCDF readers, the feed's catalogue and the per-village rain all speak these
types, so none of them depends on another's format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import shapely
from affine import Affine
from pyproj import CRS, Transformer

from riskmap.geo.errors import DataError


class GridReadError(DataError):
    """The grid cannot be read at all (format, CRS, axes, periods); the message names the file."""


@dataclass(frozen=True)
class GridProblem:
    """Part of a file that is left out while the rest is read (e.g. a band with no period)."""

    record: str
    field: str | None
    reason: str


@dataclass
class Period:
    """One accumulation period of a file (a time step, a lead or a band)."""

    index: int
    label: str  # "time step 2", "lead 6 h", "band 1"
    product: str
    valid_start: datetime
    valid_end: datetime
    issued_at: datetime
    lead_hours: float | None = None


@dataclass
class GridFile:
    """A readable grid: its definition and a way to read each period's raw values."""

    variable: str
    units: str
    crs: CRS
    transform: Affine  # north-up
    shape: tuple[int, int]
    periods: list[Period]
    read: object  # callable(index) -> 2-D float64 north-up array, NaN where declared nodata
    problems: list[GridProblem] = field(default_factory=list)


@dataclass
class Step:
    """A period that has valid cells: what the catalogue row needs (values are re-read later,
    one period at a time, so a long file never sits in memory whole)."""

    period: Period
    factor: float
    valid: int
    invalid: int
    max_mm: float
    grid_file_id: str


def canonical_crs(crs: CRS) -> CRS:
    """The EPSG definition when the CRS is one (so GeoTIFF and NetCDF grids share an id)."""
    epsg = crs.to_epsg(min_confidence=90)
    return CRS.from_epsg(epsg) if epsg else crs


def footprint(crs: CRS, transform: Affine, shape: tuple[int, int]) -> shapely.Polygon:
    """The grid's extent as a WGS 84 polygon (edges densified so projected grids bend right)."""
    h, w = shape
    cols = np.linspace(0, w, 21)
    rows = np.linspace(0, h, 21)
    ring_c = np.concatenate([cols, np.full(20, w), cols[::-1][1:], np.zeros(20)])
    ring_r = np.concatenate([np.zeros(21), rows[1:], np.full(20, h), rows[::-1][1:]])
    xs = transform.c + transform.a * ring_c
    ys = transform.f + transform.e * ring_r
    if not crs.equals(CRS.from_epsg(4326)):
        xs, ys = Transformer.from_crs(crs, 4326, always_xy=True).transform(xs, ys)
    ys = np.clip(ys, -90, 90)
    poly = shapely.Polygon(np.column_stack([xs, ys]))
    if not poly.is_valid:
        poly = shapely.make_valid(poly)
        if not isinstance(poly, shapely.Polygon):
            poly = shapely.box(*poly.bounds)
    return shapely.set_precision(poly, 1e-9)
