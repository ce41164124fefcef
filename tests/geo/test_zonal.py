"""Sparse zonal weights against exactextract's own statistics (no database needed)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from affine import Affine
from exactextract import exact_extract
from exactextract.raster import NumPyRasterSource
from pyproj import CRS, Transformer

from riskmap.geo import zonal, zonal_cache
from riskmap.geo.zonal import ZonalWeights


def _polygons(rng: np.random.Generator, bounds: tuple[float, float, float, float], cell: float):
    """~50 polygons: ordinary ones, some smaller than a cell, some partly or wholly outside."""
    xmin, ymin, xmax, ymax = bounds
    geoms = []
    for _ in range(30):  # ordinary villages of a few cells, irregular outlines
        cx, cy = (
            rng.uniform(xmin + 5 * cell, xmax - 5 * cell),
            rng.uniform(ymin + 5 * cell, ymax - 5 * cell),
        )
        r = rng.uniform(1.0, 4.0) * cell
        angles = np.sort(rng.uniform(0, 2 * np.pi, 9))
        radii = r * rng.uniform(0.6, 1.0, 9)
        geoms.append(
            shapely.Polygon(
                np.column_stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)])
            )
        )
    for _ in range(10):  # smaller than a cell
        cx, cy = rng.uniform(xmin + cell, xmax - cell), rng.uniform(ymin + cell, ymax - cell)
        geoms.append(shapely.box(cx, cy, cx + 0.3 * cell, cy + 0.2 * cell))
    for i in range(8):  # straddling the edges
        edge_x = xmin if i % 2 else xmax
        cy = rng.uniform(ymin + 2 * cell, ymax - 2 * cell)
        geoms.append(shapely.Point(edge_x, cy).buffer(1.5 * cell))
    geoms.append(shapely.box(xmax + 5 * cell, ymax + 5 * cell, xmax + 6 * cell, ymax + 6 * cell))
    geoms.append(shapely.Point(xmin, ymax).buffer(2 * cell))  # a corner
    return geoms


def _grid(rng, shape, nodata_share=0.08):
    values = rng.gamma(2.0, 5.0, shape)
    values[rng.random(shape) < nodata_share] = np.nan
    return values


def _exact(values, transform, shape, crs: CRS, geoms, op: str):
    h, w = shape
    raster = NumPyRasterSource(
        np.ma.masked_invalid(values),
        transform.c,
        transform.f + transform.e * h,
        transform.c + transform.a * w,
        transform.f,
        srs_wkt=crs.to_wkt(),
    )
    frame = gpd.GeoDataFrame(geometry=list(geoms), crs=crs)
    return exact_extract(raster, frame, [op], output="pandas").iloc[:, 0].to_numpy(dtype=float)


@pytest.mark.parametrize(
    ("epsg", "transform", "shape", "mean_op"),
    [
        # lon/lat: exactextract weights by spherical cell area when asked; so do we
        (
            4326,
            Affine(0.02, 0, 109.4, 0, -0.02, 28.1),
            (30, 32),
            "mean(coverage_weight=area_spherical_m2)",
        ),
        # CGCS2000 / 3-degree Gauss-Kruger CM 114E: equal cells, plain fractions
        (4547, Affine(1000.0, 0, 10_000.0, 0, -1000.0, 3_110_000.0), (40, 50), "mean"),
    ],
)
def test_weights_agree_with_exactextract(epsg, transform, shape, mean_op) -> None:
    rng = np.random.default_rng(epsg)
    crs = CRS.from_epsg(epsg)
    h, w = shape
    bounds = (
        transform.c,
        transform.f + transform.e * h,
        transform.c + transform.a * w,
        transform.f,
    )
    geoms = _polygons(rng, bounds, transform.a)
    codes = [f"z{i:02d}" for i in range(len(geoms))]
    values = _grid(rng, shape)
    if epsg == 4326:
        weights = ZonalWeights.build(geoms, codes, shape, transform, crs)
    else:  # villages arrive in WGS 84 and are reprojected by build()
        to_ll = Transformer.from_crs(crs, 4326, always_xy=True)
        ll = shapely.transform(
            np.asarray(geoms), lambda c: np.column_stack(to_ll.transform(c[:, 0], c[:, 1]))
        )
        weights = ZonalWeights.build(ll, codes, shape, transform, crs)
        geoms = zonal.reproject(ll, 4326, crs)  # the same bent edges for the reference
    mean = weights.mean(values)
    expected = _exact(values, transform, shape, crs, geoms, mean_op)
    assert np.array_equal(np.isnan(mean), np.isnan(expected))
    assert np.nanmax(np.abs(mean - expected)) < 1e-6
    assert np.array_equal(
        weights.max(values), _exact(values, transform, shape, crs, geoms, "max"), equal_nan=True
    )
    # coverage: 1 for villages wholly inside over valid cells, < 1 when outside or over nodata
    full = weights.coverage(np.ones(shape, bool))
    cov = weights.coverage(~np.isnan(values))
    assert np.all(cov <= full + 1e-12)
    assert np.allclose(full[:30], 1.0, atol=1e-6)  # the ordinary ones are inside the grid
    assert np.all(full[40:48] < 0.9) and np.all(full[40:48] > 0.1)  # straddling an edge
    assert full[48] == 0 and np.isnan(mean[48])  # wholly outside
    # a village smaller than a cell takes that cell's value
    small = np.arange(30, 40)
    assert np.all(weights.matrix[small].getnnz(axis=1) >= 1)


def test_coverage_is_area_of_valid_cells() -> None:
    transform = Affine(1.0, 0, 0, 0, -1.0, 4.0)
    weights = ZonalWeights.build(
        [shapely.box(0.5, 0.5, 2.5, 1.5), shapely.box(3.5, 3.5, 4.5, 4.5)],
        ["a", "b"],
        (4, 4),
        transform,
        CRS.from_epsg(4547),
        geoms_crs=CRS.from_epsg(4547),
    )
    values = np.arange(16, dtype=float).reshape(4, 4)
    values[3, 0] = np.nan  # bottom-left cell: 0.25 of village a's area 2 lies there
    mask = ~np.isnan(values)
    assert weights.coverage(mask)[0] == pytest.approx(0.875)
    # rows 2 and 3 (values 8, 9, 10 / nan, 13, 14) covered 0.25, 0.5, 0.25 each
    expected = (8 * 0.25 + 9 * 0.5 + 10 * 0.25 + 13 * 0.5 + 14 * 0.25) / 1.75
    assert weights.mean(values)[0] == pytest.approx(expected, abs=1e-12)
    assert weights.max(values)[0] == 14
    assert weights.coverage(mask)[1] == pytest.approx(0.25)  # three quarters outside the grid
    assert weights.mean(values)[1] == 3


def test_weights_cache_on_disk_and_in_memory(tmp_path: Path) -> None:
    transform = Affine(0.1, 0, 109.0, 0, -0.1, 28.0)
    calls = []

    def build() -> ZonalWeights:
        calls.append(1)
        return ZonalWeights.build(
            [shapely.box(109.05, 27.5, 109.42, 27.93)], ["v"], (10, 10), transform, 4326
        )

    zonal_cache.clear_memory_cache()
    first, origin = zonal_cache.weights_for("gdef", "v1", tmp_path, build)
    assert origin == "built" and (tmp_path / "zonal" / "gdef-v1.npz").is_file()
    assert zonal_cache.weights_for("gdef", "v1", tmp_path, build)[1] == "memory"
    zonal_cache.clear_memory_cache()
    again, origin = zonal_cache.weights_for("gdef", "v1", tmp_path, build)
    assert origin == "disk" and len(calls) == 1
    values = np.random.default_rng(0).random((10, 10))
    assert np.array_equal(again.mean(values), first.mean(values))
    assert list(again.codes) == ["v"]
    # a new villages version builds again
    assert zonal_cache.weights_for("gdef", "v2", tmp_path, build)[1] == "built" and len(calls) == 2


def test_grid_definition_id_is_stable_under_float_noise() -> None:
    a = zonal.grid_definition_id(4326, Affine(0.1, 0, -30.0, 0, -0.1, 45.0), (150, 150))
    b = zonal.grid_definition_id(
        4326, Affine(0.1 + 1e-15, 0, -30.0 + 1e-12, 0, -0.1, 45.0), (150, 150)
    )
    c = zonal.grid_definition_id(4326, Affine(0.1, 0, -30.0, 0, -0.1, 45.0), (150, 151))
    assert a == b != c


def test_rotated_and_south_up_transforms_are_refused() -> None:
    with pytest.raises(ValueError, match="rotated"):
        zonal.check_north_up(Affine(1, 0.1, 0, 0, -1, 0))
    with pytest.raises(ValueError, match="north-up"):
        zonal.check_north_up(Affine(1, 0, 0, 0, 1, 0))


@pytest.mark.parametrize("nodata_share", [0.0, 0.01, 0.3, 1.0])
def test_fast_mean_and_max_equal_the_plain_formulas_bit_for_bit(nodata_share) -> None:
    """The compiled one-pass mean and max give exactly W @ v0 / W @ valid and fmax over each
    zone's cells, grid after grid."""
    rng = np.random.default_rng(11)
    shape = (40, 50)
    transform = Affine(0.01, 0, 110.0, 0, -0.01, 30.0)
    geoms = _polygons(rng, (110.0, 29.6, 110.5, 30.0), 0.01)
    weights = ZonalWeights.build(geoms, [str(i) for i in range(len(geoms))], shape, transform, 4326)
    m = weights.matrix
    for _ in range(3):  # cached structures re-used across grids
        values = _grid(rng, shape, nodata_share)
        flat = values.ravel()
        valid = ~np.isnan(flat)
        den = m @ valid.astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            want = np.where(den > 0, (m @ np.where(valid, flat, 0.0)) / den, np.nan)
        assert np.array_equal(weights.mean(values), want, equal_nan=True)
        want_max = np.array(
            [
                np.nan if not (cells := m.indices[m.indptr[i] : m.indptr[i + 1]]).size
                or np.isnan(flat[cells]).all() else np.nanmax(flat[cells])
                for i in range(m.shape[0])
            ]
        )  # fmt: skip
        assert np.array_equal(weights.max(values), want_max, equal_nan=True)
    assert np.isnan(weights.mean(np.full(shape, np.nan))).all()
