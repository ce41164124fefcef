"""Per-village indicators of the risk method, area-weighted from the terrain grids.

The zonal side of the method: how raster layers (HAND, slope, forest cover) become one number
per village, and which village figures from the database join them. Kept apart from
:mod:`.scoring` so the classes stay pure functions of arrays.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import shapely
from scipy import sparse

from riskmap.geo import zonal, zonal_cache
from riskmap.geo.risk_terrain import TerrainLayers
from riskmap.geo.terrain.dem import Dem

LOW_GROUND_M = 5.0  # HAND below which ground counts as low-lying


def weighted_quantile(matrix: sparse.csr_matrix, values: np.ndarray, q: float) -> np.ndarray:
    """Area-weighted ``q`` quantile of the valid cells of each zone (row of ``matrix``).

    The smallest value whose cumulative weight reaches ``q`` of the zone's valid weight, found
    for all zones at once with one sort; NaN for zones with no valid cell.
    """
    if not 0.0 <= q <= 1.0:
        raise ValueError("q must be within 0..1")
    flat = np.asarray(values, dtype=np.float64).ravel()
    counts = np.diff(matrix.indptr)
    zone = np.repeat(np.arange(matrix.shape[0]), counts)
    v = flat[matrix.indices]
    w = matrix.data.astype(np.float64)
    ok = ~np.isnan(v) & (w > 0)
    zone, v, w = zone[ok], v[ok], w[ok]
    order = np.lexsort((v, zone))
    zone, v, w = zone[order], v[order], w[order]
    cum = np.cumsum(w)
    total = np.bincount(zone, weights=w, minlength=matrix.shape[0])
    before = np.concatenate([[0.0], np.cumsum(total)[:-1]])
    out = np.full(matrix.shape[0], np.nan)
    has = total > 0
    target = before[has] + q * total[has] * (1 - 1e-12)
    idx = np.searchsorted(cum, target, side="left")
    last = np.cumsum(np.bincount(zone, minlength=matrix.shape[0]))[has] - 1
    out[has] = v[np.minimum(idx, last)]
    return out


def zonal_weights(
    grid: Dem, geoms: list, codes: list[str], cache_dir: Path | None
) -> zonal.ZonalWeights:
    """Zonal weights of the villages on ``grid`` (memory / disk cache keyed by both)."""
    grid_id = zonal.grid_definition_id(grid.crs, grid.transform, grid.shape)
    h = hashlib.sha256()
    for code, g in zip(codes, geoms, strict=True):
        h.update(code.encode())
        h.update(shapely.to_wkb(g))
    weights, _ = zonal_cache.weights_for(
        grid_id,
        h.hexdigest()[:24],
        cache_dir,
        lambda: zonal.ZonalWeights.build(geoms, codes, grid.shape, grid.transform, grid.crs),
    )
    return weights


def village_indicators(
    rows: list,
    layers: TerrainLayers,
    forest: Dem,
    w_dem: zonal.ZonalWeights,
    w_forest: zonal.ZonalWeights,
) -> dict[str, np.ndarray]:
    """Every indicator of :data:`~.scoring.BREAKS`, one value per village row.

    ``rows`` are those of ``risk_villages.sql`` (area in km² at 6, river distance at 7, hazard
    points at 8); ``w_dem`` and ``w_forest`` weigh the villages on the DEM and forest grids.
    """
    area = np.array([r[6] for r in rows], dtype=np.float64)
    river = np.array([np.nan if r[7] is None else r[7] for r in rows], dtype=np.float64)
    points = np.array([r[8] for r in rows], dtype=np.float64)
    low = np.where(np.isnan(layers.hand_m), np.nan, (layers.hand_m <= LOW_GROUND_M) * 1.0)
    return {
        "hand_m_p10": weighted_quantile(w_dem.matrix, layers.hand_m, 0.10),
        "low_ground_share": w_dem.mean(low),
        "river_km": river,
        "slope_mean": w_dem.mean(layers.slope_deg),
        "hazard_points_per_km2": np.where(area > 0, points / np.where(area > 0, area, 1), 0),
        "forest_fraction": np.clip(w_forest.mean(forest.elevation), 0.0, 1.0),
    }
