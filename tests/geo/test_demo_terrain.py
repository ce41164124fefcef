"""Synthetic DEM, drainage, rivers, HAND and slope of the demo county (no database)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import rasterio
import shapely
from pyproj import Geod

from riskmap.geo.demo.relief import synth_dem
from riskmap.geo.terrain.channels import height_above_drainage, river_network
from riskmap.geo.terrain.dem import Dem, read_geotiff, slope_degrees, write_geotiff
from riskmap.geo.terrain.flow import D8_CODES, D8_OFFSETS, drainage, receivers

OUTLINE = shapely.Polygon(
    [(109.60, 27.80), (109.88, 27.78), (109.92, 28.05), (109.75, 28.10), (109.58, 28.02)]
)
MULTI = shapely.MultiPolygon(
    [shapely.box(109.60, 27.80, 109.75, 27.95), shapely.box(109.80, 27.90, 109.90, 28.05)]
)


@pytest.fixture(scope="module")
def dem() -> Dem:
    return synth_dem(OUTLINE, seed=42)


@pytest.fixture(scope="module")
def drain(dem: Dem):
    return drainage(dem)


def cell_of(dem: Dem, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, col) of the cells containing lon/lat points."""
    t = dem.transform
    col = np.floor((xy[:, 0] - t.c) / t.a).astype(int)
    row = np.floor((xy[:, 1] - t.f) / t.e).astype(int)
    return row, col


def terminal_outlet(recv: np.ndarray) -> np.ndarray:
    """Follow receivers to the end of each flow path (independent of the accumulation code)."""
    n = recv.size
    nxt = np.where(recv >= 0, recv, np.arange(n))
    while True:
        step = nxt[nxt]
        if np.array_equal(step, nxt):
            return nxt
        nxt = step


# ----------------------------------------------------------------------------- DEM


def test_dem_grid_covers_outline_at_srtm_resolution(dem: Dem) -> None:
    assert dem.crs == "EPSG:4326"
    assert dem.elevation.dtype == np.float32
    assert dem.elevation.ndim == 2
    assert dem.cell_size_deg == pytest.approx(1 / 1200)
    assert dem.transform.e == pytest.approx(-1 / 1200)
    west, south, east, north = dem.bounds
    ox0, oy0, ox1, oy1 = OUTLINE.bounds
    assert west < ox0 and south < oy0 and east > ox1 and north > oy1
    # Only a small margin.
    assert east - west < 1.15 * (ox1 - ox0)
    assert north - south < 1.15 * (oy1 - oy0)
    assert dem.shape == dem.elevation.shape
    assert east - west == pytest.approx(dem.shape[1] * dem.cell_size_deg)


def test_dem_is_byte_identical_for_same_seed_and_differs_otherwise(dem: Dem) -> None:
    again = synth_dem(OUTLINE, seed=42)
    assert again.elevation.tobytes() == dem.elevation.tobytes()
    assert again.transform == dem.transform
    other = synth_dem(OUTLINE, seed=43)
    assert other.shape == dem.shape
    assert not np.array_equal(other.elevation, dem.elevation)
    assert np.mean(np.abs(other.elevation - dem.elevation)) > 50


def test_dem_elevations_are_hunan_like(dem: Dem) -> None:
    z = dem.elevation
    assert np.isfinite(z).all()
    assert z.min() >= 100 and z.max() <= 1100
    assert z.max() - z.min() > 500
    # Hilly, not a ramp or white noise: neighbouring cells are close, slopes are moderate.
    assert np.abs(np.diff(z, axis=1)).max() < 120  # steepest ~53 degrees
    slope = slope_degrees(dem)
    assert 1 < float(np.median(slope)) < 30
    assert float(np.percentile(slope, 95)) > 8


def test_multipolygon_outline_and_coarsening_to_max_cells() -> None:
    small = synth_dem(MULTI, seed=1, cell_deg=1 / 600)
    assert small.cell_size_deg == pytest.approx(1 / 600)
    province = shapely.box(108.8, 24.6, 114.3, 30.1)  # about the size of Hunan
    big = synth_dem(province, seed=1, max_cells=150_000)
    rows, cols = big.shape
    assert rows * cols <= 150_000
    assert big.cell_size_deg > 1 / 1200
    w, s, e, n = big.bounds
    assert w < 108.8 and s < 24.6 and e > 114.3 and n > 30.1
    assert 100 <= big.elevation.min() and big.elevation.max() <= 1100


def test_cell_area_uses_latitude(dem: Dem) -> None:
    areas = dem.cell_area_km2()
    assert areas[0] < areas[-1]  # row 0 is north: smaller cells
    west, south, east, north = dem.bounds
    geod_area, _ = Geod(ellps="WGS84").polygon_area_perimeter(
        [west, east, east, west], [south, south, north, north]
    )
    total = areas.sum() * dem.shape[1]
    assert total == pytest.approx(abs(geod_area) / 1e6, rel=5e-3)


# ----------------------------------------------------------------------------- GeoTIFF


def test_geotiff_round_trip(dem: Dem, tmp_path) -> None:
    z = dem.elevation.copy()
    z[5, 7] = np.nan
    with_hole = Dem(z, dem.transform, dem.crs)
    path = write_geotiff(with_hole, tmp_path / "dem.tif")
    with rasterio.open(path) as src:
        assert src.nodata == -9999
        assert src.dtypes == ("float32",)
        assert src.profile["tiled"]
        assert src.compression.name.lower() == "deflate"
        assert src.read(1)[5, 7] == -9999
    back = read_geotiff(path)
    assert back.crs == "EPSG:4326"
    assert back.transform.almost_equals(dem.transform, precision=1e-12)
    assert back.elevation.dtype == np.float32
    np.testing.assert_array_equal(back.elevation, z)  # NaN == NaN here


# ----------------------------------------------------------------------------- drainage


def test_filled_surface_drains_everywhere(dem: Dem, drain) -> None:
    z = dem.elevation.astype(np.float64)
    assert np.all(drain.filled >= z - 1e-9)
    recv = receivers(drain.flow_dir)
    flat = drain.filled.ravel()
    has = recv >= 0
    # Strictly downhill on the filled surface: no cycles, no pits.
    assert np.all(flat[recv[has]] < flat[has])
    assert set(np.unique(drain.flow_dir)) <= {0, *D8_CODES}
    # Outlets (code 0) only on the grid edge.
    interior = drain.flow_dir[1:-1, 1:-1]
    assert np.all(interior != 0)
    # The synthetic DEM is built without closed depressions: filling changes next to nothing.
    assert np.max(drain.filled - z) < 0.05


def test_accumulation_is_conserved(dem: Dem, drain) -> None:
    n = dem.elevation.size
    recv = receivers(drain.flow_dir)
    acc = drain.flow_acc.ravel()
    outlets = drain.flow_dir.ravel() == 0
    assert acc.min() >= 1
    assert acc[outlets].sum() == n
    # Local balance: each cell = itself + all its donors.
    has = recv >= 0
    donors = np.bincount(recv[has], weights=acc[has], minlength=n)
    np.testing.assert_array_equal(acc, 1 + donors.astype(np.int64))
    # The biggest accumulation is exactly the size of the biggest outlet's basin.
    basin = np.bincount(terminal_outlet(recv), minlength=n)
    np.testing.assert_array_equal(acc[outlets], basin[outlets])
    assert acc.max() == basin.max()
    assert acc.max() > 0.05 * n  # a real river leaves the county
    # Areas: total at outlets equals the grid's area.
    total_area = dem.cell_area_km2().sum() * dem.shape[1]
    assert drain.upstream_area_km2.ravel()[outlets].sum() == pytest.approx(total_area, rel=1e-9)


def test_depression_is_filled_to_its_spill_point() -> None:
    z = np.full((7, 7), 50.0, dtype=np.float32)
    z[1:6, 1:6] = 100.0  # a rim...
    z[1, 3] = 60.0  # ...with a notch
    z[2:5, 2:5] = 5.0  # around a pit
    dem = Dem(z, synth_dem(OUTLINE, seed=0, cell_deg=0.01).transform)
    d = drainage(dem)
    assert np.all(d.filled[2:5, 2:5] > 60.0)
    assert np.all(d.filled[2:5, 2:5] < 60.01)
    assert d.filled[1, 3] == pytest.approx(60.0)
    assert d.flow_acc[1, 3] >= 10  # the nine pit cells and the notch itself
    assert d.flow_dir[1, 3] == D8_CODES[D8_OFFSETS.index((-1, 0))]  # north, out of the rim


def test_nodata_cells_are_skipped(dem: Dem) -> None:
    z = dem.elevation[:120, :150].copy()
    z[40:60, 50:80] = np.nan
    d = drainage(Dem(z, dem.transform))
    valid = np.isfinite(z)
    assert np.all(d.flow_dir[~valid] == 0)
    assert np.all(d.flow_acc[~valid] == 0)
    outlets = (d.flow_dir == 0) & valid
    assert d.flow_acc[outlets].sum() == valid.sum()


# ----------------------------------------------------------------------------- rivers


def test_river_network_follows_the_dem(dem: Dem, drain) -> None:
    rivers = river_network(dem, drain, min_area_km2=5.0)
    assert rivers.crs.to_epsg() == 4326
    assert list(rivers.columns) == ["strahler", "upstream_area_km2", "length_km", "geometry"]
    assert len(rivers) > 20
    assert (rivers.geom_type == "LineString").all()
    assert rivers["strahler"].min() == 1
    assert rivers["strahler"].max() >= 3
    assert (rivers["upstream_area_km2"] >= 5.0).all()
    starts, ends = set(), set()
    for geom, length in zip(rivers.geometry, rivers["length_km"], strict=True):
        xy = shapely.get_coordinates(geom)
        r, c = cell_of(dem, xy)
        z = drain.filled[r, c]
        assert np.all(np.diff(z) <= 0), "river flows uphill"
        # Consecutive vertices are D8 neighbours: 90-130 m apart here.
        assert np.all(np.abs(np.diff(r)) <= 1) and np.all(np.abs(np.diff(c)) <= 1)
        assert length == pytest.approx((len(xy) - 1) * 0.093, rel=0.35)
        starts.add(tuple(xy[0]))
        ends.add(tuple(xy[-1]))
    # Segments join: every end is a confluence (start of another segment) or an outlet.
    for e in ends:
        r, c = cell_of(dem, np.array([e]))
        assert e in starts or drain.flow_dir[r[0], c[0]] == 0
    # Every channel cell lies on the network, except a channel that is a single outlet cell
    # (a head or confluence right on the grid edge: no line to draw).
    channel = drain.upstream_area_km2 >= 5.0
    on_network = np.zeros_like(channel)
    for geom in rivers.geometry:
        r, c = cell_of(dem, shapely.get_coordinates(geom))
        on_network[r, c] = True
    assert np.all(on_network <= channel)
    missing = channel & ~on_network
    assert np.all(drain.flow_dir[missing] == 0)
    assert missing.sum() <= 5


def test_river_network_is_deterministic(dem: Dem, drain) -> None:
    a = river_network(dem, drain, min_area_km2=10.0)
    b = river_network(
        synth_dem(OUTLINE, seed=42), drainage(synth_dem(OUTLINE, seed=42)), min_area_km2=10.0
    )
    assert a["strahler"].tolist() == b["strahler"].tolist()
    assert all(shapely.equals_exact(a.geometry.values, b.geometry.values, tolerance=0))
    assert len(river_network(dem, drain, min_area_km2=1e9)) == 0


# ----------------------------------------------------------------------------- HAND, slope


def test_height_above_drainage(dem: Dem, drain) -> None:
    channel = drain.upstream_area_km2 >= 5.0
    hand = height_above_drainage(dem, drain, channel)
    assert hand.shape == dem.shape
    assert np.all(hand[channel] == 0)
    finite = np.isfinite(hand)
    assert finite.mean() > 0.8
    assert np.all(hand[finite] >= 0)
    assert np.all(hand[finite] <= drain.filled[finite] - drain.filled.min() + 1e-6)
    # Ridges stand high above the rivers.
    assert np.nanpercentile(hand, 95) > 50


def test_slope_of_a_known_plane() -> None:
    transform = synth_dem(OUTLINE, seed=0, cell_deg=0.001).transform
    rows, cols = 50, 40
    dy_m = math.radians(0.001) * 6371008.8
    # Rising 1 m per 100 m southward.
    z = (np.arange(rows)[:, None] * dy_m * 0.01 + np.zeros((1, cols))).astype(np.float32)
    slope = slope_degrees(Dem(z, transform))
    np.testing.assert_allclose(slope, math.degrees(math.atan(0.01)), rtol=1e-3)
    flat = slope_degrees(Dem(np.full((5, 5), 300, np.float32), transform))
    assert np.all(flat == 0)
