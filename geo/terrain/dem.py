"""The elevation grid every terrain step shares: the Dem type, its GeoTIFF form, and slope.

Synthesis (:mod:`riskmap.geo.demo.relief`), flow routing (:mod:`riskmap.geo.terrain.flow`) and
channels (:mod:`riskmap.geo.terrain.channels`) all work on a :class:`Dem`; it lives here, apart
from them, so a real DEM read with :func:`read_geotiff` needs none of the synthetic parts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import affine
import numpy as np
import rasterio

CRS_WGS84 = "EPSG:4326"
NODATA = -9999.0
EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius


@dataclass(frozen=True, eq=False)
class Dem:
    """A north-up elevation grid in geographic coordinates.

    ``eq=False`` because numpy arrays have no single truth value; compare fields explicitly.

    Attributes
    ----------
    elevation
        2-D float32 metres, row 0 = north; NaN marks nodata.
    transform
        Affine from (col, row) to (lon, lat) of the cell's upper-left corner.
    crs
        Always ``"EPSG:4326"`` for grids made here.
    """

    elevation: np.ndarray
    transform: affine.Affine
    crs: str = CRS_WGS84

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols) of the grid."""
        return self.elevation.shape  # type: ignore[return-value]

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) of the grid's outer edges, in degrees."""
        rows, cols = self.shape
        t = self.transform
        return (t.c, t.f + rows * t.e, t.c + cols * t.a, t.f)

    @property
    def cell_size_deg(self) -> float:
        """Cell width in degrees (cells made here are square in degrees)."""
        return float(self.transform.a)

    def row_latitudes(self) -> np.ndarray:
        """Latitude of each row's cell centres, so per-row metric sizes can be derived."""
        t = self.transform
        return t.f + (np.arange(self.shape[0]) + 0.5) * t.e

    def cell_area_km2(self) -> np.ndarray:
        """True (spherical) area of one cell in each row, km², shape ``(rows,)``.

        Geographic cells shrink toward the poles as cos(latitude); using the exact band area
        ``R² Δλ (sin φ_n − sin φ_s)`` keeps upstream areas right for a province-sized grid.
        """
        t = self.transform
        north = t.f + np.arange(self.shape[0]) * t.e
        south = north + t.e
        dlon = math.radians(t.a)
        return (
            EARTH_RADIUS_KM**2
            * dlon
            * np.abs(np.sin(np.radians(north)) - np.sin(np.radians(south)))
        )

    def cell_metres(self) -> tuple[np.ndarray, float]:
        """Per-row cell width (m) and constant cell height (m) of this grid."""
        dy = math.radians(abs(self.transform.e)) * EARTH_RADIUS_KM * 1000.0
        dx = (
            math.radians(self.transform.a)
            * EARTH_RADIUS_KM
            * 1000.0
            * np.cos(np.radians(self.row_latitudes()))
        )
        return dx, dy


# --------------------------------------------------------------------------- GeoTIFF


def write_geotiff(dem: Dem, path: str | Path) -> Path:
    """Write a tiled, deflate-compressed float32 GeoTIFF so GIS tools and the web map read it.

    NaN cells are written as the nodata value ``-9999``.
    """
    path = Path(path)
    data = np.where(np.isfinite(dem.elevation), dem.elevation, NODATA).astype(np.float32)
    rows, cols = dem.shape
    profile = {
        "driver": "GTiff",
        "height": rows,
        "width": cols,
        "count": 1,
        "dtype": "float32",
        "crs": dem.crs,
        "transform": dem.transform,
        "nodata": NODATA,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "compress": "deflate",
        "predictor": 3,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
    return path


def read_geotiff(path: str | Path) -> Dem:
    """Read a single-band north-up GeoTIFF into a :class:`Dem`; nodata becomes NaN.

    Used to reload a demo DEM, or to run the same hydrology on a real DEM.
    """
    with rasterio.open(path) as src:
        t = src.transform
        if t.b != 0 or t.d != 0 or t.e >= 0:
            raise ValueError(f"{path}: only north-up grids are supported")
        band = src.read(1, masked=True)
        elevation = band.astype(np.float32).filled(np.nan)
        crs = src.crs.to_string() if src.crs is not None else CRS_WGS84
    return Dem(elevation, t, crs)


# --------------------------------------------------------------------------- slope


def slope_degrees(dem: Dem) -> np.ndarray:
    """Terrain slope in degrees, with metric cell sizes at each row's latitude.

    Slope feeds landslide and flash-flood susceptibility; computing it in degrees of arc
    directly would be wrong by a factor ~100,000, and ignoring cos(latitude) by ~12 % here.
    """
    z = np.asarray(dem.elevation, dtype=np.float64)
    dx, dy = dem.cell_metres()
    dz_dy = np.gradient(z, axis=0) / dy
    dz_dx = np.gradient(z, axis=1) / dx[:, None]
    return np.degrees(np.arctan(np.hypot(dz_dx, dz_dy))).astype(np.float32)
