"""Terrain layers the village risk maps need, derived once from a DEM.

Height above nearest drainage (HAND) and slope come from :mod:`riskmap.geo.terrain` (D8 flow,
channels, slope), which works on any north-up lon/lat grid. Where no land-cover layer exists (the
demo), :func:`synthetic_forest` derives a *synthetic*, deterministic forest-cover
fraction from the terrain: in the hills of western Hunan the forest covers the slopes and ridges
while the valley floors are farmland and villages.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from pyproj import CRS

from riskmap.geo.terrain.channels import height_above_drainage
from riskmap.geo.terrain.dem import Dem, slope_degrees
from riskmap.geo.terrain.flow import drainage

#: Channels start where the upstream area reaches this (km²); the demo's rivers use the same.
CHANNEL_AREA_KM2 = 5.0
#: Synthetic forest: the slope ramp (degrees) and the height-above-valley ramp (m).
FOREST_SLOPE_RAMP = (2.0, 8.0)
FOREST_HAND_RAMP = (3.0, 15.0)
FOREST_NODATA = -9999.0


@dataclass(frozen=True, eq=False)
class TerrainLayers:
    """Per-cell layers on the DEM's grid (NaN where the DEM has no data).

    Attributes
    ----------
    dem : the elevation grid (lon/lat).
    hand_m : height above nearest drainage, m.
    slope_deg : slope, degrees.
    """

    dem: Dem
    hand_m: np.ndarray
    slope_deg: np.ndarray


def terrain_layers(dem: Dem, *, channel_area_km2: float = CHANNEL_AREA_KM2) -> TerrainLayers:
    """HAND and slope of ``dem``, the two terrain indicators of flood and slope hazards.

    Raises
    ------
    ValueError
        If the DEM is not in a geographic CRS: the slope and drainage code turns degrees into
        metres per row and would be wrong on a projected grid.
    """
    if not CRS.from_user_input(dem.crs).is_geographic:
        raise ValueError(f"the DEM must be in a geographic (lon/lat) CRS, got {dem.crs}")
    if not channel_area_km2 > 0:
        raise ValueError("channel_area_km2 must be positive")
    drain = drainage(dem)
    channels = drain.upstream_area_km2 >= channel_area_km2
    hand = height_above_drainage(dem, drain, channels)
    slope = slope_degrees(dem).astype(np.float64)
    slope[~np.isfinite(dem.elevation)] = np.nan
    return TerrainLayers(dem=dem, hand_m=np.clip(hand, 0.0, None), slope_deg=slope)


def _ramp(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return np.clip((x - lo) / (hi - lo), 0.0, 1.0)


def synthetic_forest(layers: TerrainLayers) -> np.ndarray:
    """A plausible, deterministic forest-cover fraction (0–1) for a demo without land cover.

    ``fraction = ramp(slope, 2°→8°) × ramp(HAND, 3 m→15 m)``: no forest on flat ground or on
    the valley floors (fields and villages), full cover on slopes steeper than 8° (of a ~90 m
    DEM, whose slopes are far gentler than the ground's) standing more than 15 m above the
    nearest stream. On the demo DEM this gives a mean cover of about 38 % (Mayang reports about
    70 % forest cover ⚠). SYNTHETIC: it stands in for a land-cover product (e.g. ESA
    WorldCover) and must be replaced by one for real use.
    """
    fraction = _ramp(layers.slope_deg, *FOREST_SLOPE_RAMP) * _ramp(
        np.nan_to_num(layers.hand_m, nan=0.0), *FOREST_HAND_RAMP
    )
    fraction = np.round(fraction, 4)  # deterministic bytes on every platform
    fraction[~np.isfinite(layers.dem.elevation)] = np.nan
    return fraction


def write_fraction_geotiff(values: np.ndarray, dem: Dem, path: Path, *, method: str) -> Path:
    """Write a 0–1 fraction grid on the DEM's grid as a compressed float32 GeoTIFF.

    ``method`` is stored as a tag so the file says how it was made (e.g. that it is synthetic).
    """
    if values.shape != dem.shape:
        raise ValueError(f"values have shape {values.shape}, the DEM {dem.shape}")
    data = np.where(np.isfinite(values), values, FOREST_NODATA).astype(np.float32)
    profile = {
        "driver": "GTiff",
        "height": dem.shape[0],
        "width": dem.shape[1],
        "count": 1,
        "dtype": "float32",
        "crs": dem.crs,
        "transform": dem.transform,
        "nodata": FOREST_NODATA,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "compress": "deflate",
    }
    path = Path(path)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
        dst.update_tags(riskmap_layer="fraction", method=method)
    return path
