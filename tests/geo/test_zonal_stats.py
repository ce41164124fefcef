"""The compiled one-pass statistics (ZonalWeights.stats) against brute force and exactextract on
random grids with nodata (no database needed)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from affine import Affine
from pyproj import CRS

from riskmap.geo.zonal import ZonalWeights
from tests.geo.test_zonal import _exact, _grid, _polygons

TRANSFORM = Affine(0.01, 0, 110.0, 0, -0.01, 30.0)
SHAPE = (40, 50)
BOUNDS = (110.0, 29.6, 110.5, 30.0)


def _brute(weights: ZonalWeights, values: np.ndarray) -> tuple[list, list, list]:
    """Mean, max and coverage zone by zone in plain Python over the (row, cell, weight)
    triplets: math.fsum of the valid cells, max of their values, valid over total weight."""
    coo = weights.matrix.tocoo()
    cells: list[list[tuple[int, float]]] = [[] for _ in range(weights.matrix.shape[0])]
    for r, c, w in zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True):
        cells[r].append((c, w))
    flat = values.ravel().tolist()
    means, maxes, covs = [], [], []
    for i, zone in enumerate(cells):
        valid = [(flat[c], w) for c, w in zone if not math.isnan(flat[c])]
        total = math.fsum(w for _, w in zone)
        den = math.fsum(w for _, w in valid)
        means.append(math.fsum(v * w for v, w in valid) / den if den > 0 else math.nan)
        maxes.append(max(v for v, _ in valid) if valid else math.nan)
        share = den / total if total > 0 else 0.0
        covs.append(min(max(share * float(weights.inside[i]), 0.0), 1.0))
    return means, maxes, covs


@pytest.fixture(scope="module")
def weights() -> ZonalWeights:
    geoms = _polygons(np.random.default_rng(5), BOUNDS, 0.01)
    return ZonalWeights.build(geoms, [str(i) for i in range(len(geoms))], SHAPE, TRANSFORM, 4326)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("nodata_share", [0.0, 0.05, 0.5, 0.97])
def test_stats_equal_brute_force_on_random_grids(weights, seed, nodata_share) -> None:
    values = _grid(np.random.default_rng(seed), SHAPE, nodata_share)
    got = weights.stats(values)
    mean, top, cov = (np.array(x) for x in _brute(weights, values))
    assert np.array_equal(np.isnan(got.mean), np.isnan(mean))
    assert np.allclose(got.mean, mean, rtol=1e-12, atol=0, equal_nan=True)
    assert np.array_equal(got.max, top, equal_nan=True)  # a max is exact
    assert np.allclose(got.coverage, cov, rtol=1e-12, atol=0)
    # the separate methods give the same figures as the one pass
    assert np.array_equal(weights.mean(values), got.mean, equal_nan=True)
    assert np.array_equal(weights.max(values), got.max, equal_nan=True)
    assert np.array_equal(weights.coverage(~np.isnan(values)), got.coverage)


def test_stats_agree_with_exactextract_with_nodata(weights) -> None:
    geoms = _polygons(np.random.default_rng(5), BOUNDS, 0.01)
    values = _grid(np.random.default_rng(42), SHAPE, 0.2)
    got = weights.stats(values)
    crs = CRS.from_epsg(4326)
    mean = _exact(values, TRANSFORM, SHAPE, crs, geoms, "mean(coverage_weight=area_spherical_m2)")
    assert np.array_equal(np.isnan(got.mean), np.isnan(mean))
    assert np.nanmax(np.abs(got.mean - mean)) < 1e-6
    assert np.array_equal(
        got.max, _exact(values, TRANSFORM, SHAPE, crs, geoms, "max"), equal_nan=True
    )


def test_zones_without_cells_or_valid_values_are_nan() -> None:
    transform = Affine(1.0, 0, 0, 0, -1.0, 2.0)
    weights = ZonalWeights.build(
        [shapely.box(0.2, 0.2, 0.8, 0.8), shapely.box(5, 5, 6, 6), shapely.box(1, 1, 2, 2)],
        ["nodata", "outside", "valid"],
        (2, 2),
        transform,
        CRS.from_epsg(4547),
        geoms_crs=CRS.from_epsg(4547),
    )
    values = np.array([[1.0, 7.0], [np.nan, -3.0]])  # the first zone lies in the NaN cell
    got = weights.stats(values)
    assert np.isnan(got.mean[:2]).all() and np.isnan(got.max[:2]).all()
    assert got.mean[2] == 7.0 and got.max[2] == 7.0
    assert got.coverage.tolist() == [0.0, 0.0, 1.0]
    assert weights.stats(np.full((2, 2), -np.inf)).max[2] == -np.inf  # a valid value, kept


def test_64_bit_indices_give_the_same_figures(weights) -> None:
    """scipy switches to int64 indices past 2³¹ weights; the pass is compiled for both."""
    m = weights.matrix
    wide = m.copy()  # scipy keeps int32 when the values fit: widened by hand
    wide.indices, wide.indptr = m.indices.astype(np.int64), m.indptr.astype(np.int64)
    assert wide.indices.dtype == np.int64
    other = ZonalWeights(weights.codes, wide, weights.inside, weights.shape)
    values = _grid(np.random.default_rng(3), SHAPE, 0.1)
    a, b = weights.stats(values), other.stats(values)
    assert other.matrix.indices.dtype == np.int64  # still, after the structure check
    for x, y in zip((a.mean, a.max, a.coverage), (b.mean, b.max, b.coverage), strict=True):
        assert np.array_equal(x, y, equal_nan=True)


def test_corrupt_weights_are_refused_not_read_out_of_bounds(weights) -> None:
    m = weights.matrix.copy()
    m.indices[-1] = m.shape[1] + 1000  # a cell past the grid (a damaged .npz)
    broken = ZonalWeights(weights.codes, m, weights.inside, weights.shape)
    with pytest.raises(ValueError, match="indices"):
        broken.stats(np.zeros(SHAPE))
