"""Synthetic danger-zone population (危险区人口) of the demo villages.

The national flash-flood survey (山洪灾害调查评价) records for each village the people who live in
its danger zone: the houses on the valley floor that the village stream's damaging flood reaches.
Those are the people an evacuation order (立即转移) moves, not the whole village, so the impact
summary plans with this figure. The demo has no survey, so it draws a plausible one: the share of
the village's land that is low ground beside a channel (height above nearest drainage at most
:data:`LOW_GROUND_HAND_M`), scaled up for villages on a stream the survey covers (the same villages
that get flash-flood thresholds: those a stream of Strahler order ≥ 2 crosses), with a little
noise. It is synthetic and belongs to the demo dataset, which is flagged ``synthetic``.

The numbers come from a generator of their own (``default_rng([seed, 28])``), drawn after and
apart from every other demo draw, so adding them changes no other demo table.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
from rasterio.features import rasterize

from riskmap.geo.terrain.channels import height_above_drainage
from riskmap.geo.terrain.dem import Dem
from riskmap.geo.terrain.flow import Drainage

#: Cells at most this high above their nearest channel count as the valley floor (m).
LOW_GROUND_HAND_M = 5.0
#: Channels for the valley floor start at this upstream area (km²): small streams flood too.
CHANNEL_AREA_KM2 = 1.0
#: Share of people in the danger zone: (base, per unit of low-ground share, upper bound) for
#: villages on a surveyed stream, and the upper bound for the others.
ON_STREAM = (0.04, 0.3, 0.4)
OFF_STREAM_MAX = 0.05
#: Spread of the multiplicative noise (lognormal sigma).
NOISE_SIGMA = 0.25


def low_ground_share(villages: gpd.GeoDataFrame, dem: Dem, drain: Drainage) -> np.ndarray:
    """Share of each village's DEM cells that lie on the valley floor (0 where none lie inside)."""
    hand = height_above_drainage(dem, drain, drain.upstream_area_km2 >= CHANNEL_AREA_KM2)
    owner = rasterize(
        ((g, i + 1) for i, g in enumerate(villages.geometry.to_numpy())),
        out_shape=dem.shape,
        transform=dem.transform,
        fill=0,
        dtype="int32",
    ).ravel()
    valid = np.isfinite(hand.ravel()) & (owner > 0)
    low = valid & (hand.ravel() <= LOW_GROUND_HAND_M)
    n = len(villages) + 1
    cells = np.bincount(owner[valid], minlength=n)[1:]
    low_cells = np.bincount(owner[low], minlength=n)[1:]
    return np.divide(low_cells, cells, out=np.zeros(len(villages)), where=cells > 0)


def on_surveyed_stream(villages: gpd.GeoDataFrame, rivers: gpd.GeoDataFrame) -> np.ndarray:
    """Whether a stream of order ≥ 2 crosses the village (as for flash-flood thresholds)."""
    streams = rivers[rivers.strahler >= 2].geometry.to_numpy()
    hit = np.unique(villages.sindex.query(streams, predicate="intersects")[1])
    out = np.zeros(len(villages), dtype=bool)
    out[hit] = True
    return out


def danger_zone_population(
    villages: gpd.GeoDataFrame,
    dem: Dem,
    drain: Drainage,
    rivers: gpd.GeoDataFrame,
    *,
    seed: int,
) -> np.ndarray:
    """People living in each village's flash-flood danger zone (synthetic, see the module).

    Parameters
    ----------
    villages : the demo villages (``population``, outlines), in their frame order.
    dem, drain : the synthetic relief and its D8 drainage.
    rivers : the river network (``strahler``).
    seed : the demo seed; the draws use ``default_rng([seed, 28])`` only.

    Returns
    -------
    numpy.ndarray
        One non-negative integer per village, at most its population.
    """
    rng = np.random.default_rng([seed, 28])
    pop = villages["population"].to_numpy(dtype=np.int64)
    low = low_ground_share(villages, dem, drain)
    stream = on_surveyed_stream(villages, rivers)
    noise = rng.lognormal(0.0, NOISE_SIGMA, len(villages))
    base, slope, top = ON_STREAM
    share = np.where(
        stream,
        np.clip((base + slope * low) * noise, base / 2, top),
        np.clip(OFF_STREAM_MAX * low * noise, 0.0, OFF_STREAM_MAX),
    )
    return np.minimum(pop, np.rint(pop * share)).astype(np.int64)
