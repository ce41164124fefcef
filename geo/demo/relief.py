"""Deterministic synthetic relief: a plausible Hunan-hills DEM over any outline, from a seed.

The demo has no licensed DEM, so it builds one: spectral (fractal) noise plus ridged noise plus
a regional tilt, scaled to the 150–1000 m relief of the hills of Hunan, with closed basins
filled so water always drains out. Kept apart from the hydrology, which also runs on real DEMs.
"""

from __future__ import annotations

import math

import affine
import numpy as np
import shapely
from scipy import fft as sp_fft

from riskmap.geo.terrain.dem import CRS_WGS84, EARTH_RADIUS_KM, Dem
from riskmap.geo.terrain.flow import fill_depressions

SRTM_CELL_DEG = 1.0 / 1200.0  # 3 arc-seconds, ~90 m
BASIN_FLOOR_RISE_M = 0.05  # per cell on synthetic basin floors, a gentle alluvial slope


def _grid_for(
    bounds: tuple[float, float, float, float], cell: float, max_cells: int
) -> tuple[float, float, float, int, int]:
    """Snap a grid (cell, west, north, rows, cols) over ``bounds`` plus a margin."""
    minx, miny, maxx, maxy = bounds
    margin = 0.02 * max(maxx - minx, maxy - miny)
    for _ in range(100):
        m = margin + 2 * cell
        west = math.floor((minx - m) / cell) * cell
        north = math.ceil((maxy + m) / cell) * cell
        cols = math.ceil((maxx + m - west) / cell)
        rows = math.ceil((north - (miny - m)) / cell)
        if rows * cols <= max_cells:
            return cell, west, north, rows, cols
        cell *= math.sqrt(rows * cols / max_cells) * 1.001
    raise ValueError(f"cannot fit a grid of at most {max_cells} cells")  # pragma: no cover


def _synth_surface(
    rows: int, cols: int, cell_deg: float, lat0: float, rng: np.random.Generator
) -> np.ndarray:
    """Unscaled terrain surface (float64) built from filtered white noise in cycles/km.

    Frequencies are in physical units so features keep their size in km whatever the grid
    resolution; the noise is generated on a padded grid and cropped so that FFT wrap-around
    does not join opposite edges.
    """
    dy_km = math.radians(cell_deg) * EARTH_RADIUS_KM
    dx_km = dy_km * math.cos(math.radians(lat0))
    pad = max(16, int(0.1 * max(rows, cols)))
    pr = sp_fft.next_fast_len(rows + 2 * pad, real=True)
    pc = sp_fft.next_fast_len(cols + 2 * pad, real=True)

    # Ridges strike NE-SW as in the Xuefeng and Wuling ranges; the regional tilt runs along
    # the strike so the valleys between ridges drain out instead of forming closed basins.
    strike = math.radians(45.0 + rng.uniform(-20.0, 20.0))  # clockwise from north
    theta = strike + math.pi * int(rng.integers(0, 2)) + math.radians(rng.uniform(-25.0, 25.0))
    spec = sp_fft.rfft2(rng.standard_normal((pr, pc)))
    ky = np.fft.fftfreq(pr, d=dy_km)[:, None]
    kx = np.fft.rfftfreq(pc, d=dx_km)[None, :]
    k = np.hypot(kx, ky)  # cycles per km

    def field(amplitude: np.ndarray) -> np.ndarray:
        f = sp_fft.irfft2(spec * amplitude, s=(pr, pc))[pad : pad + rows, pad : pad + cols]
        sd = f.std()
        return (f - f.mean()) / (sd if sd > 0 else 1.0)

    def band(wavelength_km: float, width: float = 0.5) -> np.ndarray:
        """Log-normal band-pass around one wavelength."""
        with np.errstate(divide="ignore"):
            logk = np.log(k * wavelength_km)
        return np.where(k > 0, np.exp(-0.5 * (logk / width) ** 2), 0.0)

    # Frequency across and along the strike; ky counts per km southward (rows run south).
    k_across = np.abs(kx * math.cos(strike) + ky * math.sin(strike))
    k_along = kx * math.sin(strike) - ky * math.cos(strike)

    def folds(wavelength_km: float, length_km: float) -> np.ndarray:
        """Band-pass across the strike, long-wave only along it: parallel ridges."""
        with np.errstate(divide="ignore"):
            logk = np.log(k_across * wavelength_km)
        across = np.where(k_across > 0, np.exp(-0.5 * (logk / 0.4) ** 2), 0.0)
        return across * np.exp(-0.5 * (k_along * length_km) ** 2)

    # Fractal (fBm-like) base: amplitude ~ k^-1.7 with a roll-off at ~40 km.
    fbm = field((k**2 + (1.0 / 40.0) ** 2) ** -0.85 * (k > 0))
    # Ridged noise: ridges where band-limited noise crosses zero (1 - |n|).
    ridge1 = np.clip(1.0 - np.abs(field(folds(12.0, 25.0))) / 2.0, 0.0, 1.0) ** 2
    ridge2 = np.clip(1.0 - np.abs(field(folds(4.0, 6.0))) / 2.0, 0.0, 1.0) ** 2
    # Mountain mask: some districts are hill country, others low basins.
    mountains = 1.0 / (1.0 + np.exp(-1.6 * field(band(45.0, 0.6))))
    fine = field(band(1.2, 0.7))

    south_km = (np.arange(rows)[:, None] - rows / 2) * dy_km
    east_km = (np.arange(cols)[None, :] - cols / 2) * dx_km
    ramp = -(east_km * math.sin(theta) - south_km * math.cos(theta))  # falls toward theta
    span = np.ptp(ramp)
    ramp = ramp / span if span > 0 else ramp * 0.0

    return (
        0.9 * fbm
        + mountains * (3.2 * ridge1 + 0.9 * ridge2)
        + 0.1 * fine * (0.2 + mountains)
        + 3.0 * ramp
    )


def synth_dem(
    outline: shapely.Polygon | shapely.MultiPolygon,
    *,
    seed: int,
    cell_deg: float | None = None,
    max_cells: int = 2_000_000,
) -> Dem:
    """Make a deterministic, plausible DEM of Hunan-like hills over an outline's bounds.

    The demo needs terrain that looks and behaves like the real thing (ridges, valleys, water
    leaving the county) without shipping licensed elevation data; a seed makes the same county
    look the same in every run, test and screenshot.

    Ridges strike NE–SW (±20°) like the Xuefeng and Wuling ranges, and the regional tilt runs
    along the strike. Noise terrain still has closed basins (~40 % of cells), unlike eroded
    land, so they are filled with a gentle floor gradient (:data:`BASIN_FLOOR_RISE_M` per cell):
    they become flat basin plains, as in Hunan's intermontane basins, and the DEM has no pits.

    Parameters
    ----------
    outline
        County or province outline in WGS 84 lon/lat; only its bounds are used.
    seed
        Seed for :func:`numpy.random.default_rng`; same inputs give byte-identical output.
    cell_deg
        Cell size in degrees; default 3 arc-seconds (1/1200°, ~90 m, as SRTM).
    max_cells
        Upper bound on rows*cols; the cell is enlarged until the grid fits (also when
        ``cell_deg`` is given), which keeps a province-sized outline fast.

    Returns
    -------
    Dem
        float32 elevations roughly 150–1000 m, EPSG:4326, row 0 = north.
    """
    if outline.is_empty:
        raise ValueError("outline is empty")
    cell0 = SRTM_CELL_DEG if cell_deg is None else float(cell_deg)
    if not cell0 > 0:
        raise ValueError("cell_deg must be positive")
    bounds = tuple(float(b) for b in outline.bounds)
    cell, west, north, rows, cols = _grid_for(bounds, cell0, max_cells)  # type: ignore[arg-type]
    lat0 = 0.5 * (bounds[1] + bounds[3])

    rng = np.random.default_rng(seed)
    low = 140.0 + 40.0 * rng.random()  # valley floor at the outlet, m
    high = 930.0 + 70.0 * rng.random()  # highest summit, m
    surface = _synth_surface(rows, cols, cell, lat0, rng)
    lo, hi = surface.min(), surface.max()
    t = (surface - lo) / (hi - lo if hi > lo else 1.0)
    # A power > 1 widens valley floors and sharpens summits, as in eroded hill country.
    elevation = low + (high - low) * t**1.35
    elevation = fill_depressions(elevation, BASIN_FLOOR_RISE_M, diagonals=False).astype(np.float32)
    return Dem(elevation, affine.Affine(cell, 0.0, west, 0.0, -cell, north), CRS_WGS84)
