"""Seeded Voronoi partitions, largest-remainder allocation and point sampling (no database)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from riskmap.geo.demo.partition import allocate, partition, sample_points

# A concave polygon with a hole, about 0.3 x 0.3 degrees.
SQUARE = shapely.Polygon(
    [(109.6, 27.8), (109.9, 27.8), (109.9, 28.1), (109.75, 27.98), (109.6, 28.1)],
    holes=[[(109.70, 27.85), (109.74, 27.85), (109.74, 27.89), (109.70, 27.89)]],
)
# Two parts and a small island.
MULTI = shapely.MultiPolygon(
    [
        shapely.box(109.60, 27.80, 109.75, 27.95),
        shapely.Point(109.85, 28.0).buffer(0.06),
        shapely.box(109.95, 27.80, 109.96, 27.81),
    ]
)


def ragged_county() -> shapely.Polygon:
    """A ~3,500 km² outline with 4,000 vertices, like a real county boundary."""
    rng = np.random.default_rng(3)
    ang = np.linspace(0, 2 * np.pi, 4000, endpoint=False)
    walk = np.cumsum(rng.standard_normal(4000))
    walk -= np.linspace(0, walk[-1], 4000)  # close the random walk
    r = 0.28 * (1 + 0.15 * np.sin(3 * ang) + 0.08 * np.sin(7 * ang + 1) + 0.002 * walk)
    x = 109.8 + r * np.cos(ang) / np.cos(np.radians(27.8))
    y = 27.8 + r * np.sin(ang)
    poly = shapely.Polygon(np.column_stack([x, y]))
    assert poly.is_valid
    return poly


def check_partition(area, cells, n: int) -> None:
    assert len(cells) == n
    arr = np.array(cells, dtype=object)
    assert all(c.geom_type in ("Polygon", "MultiPolygon") for c in cells)
    assert not shapely.is_empty(arr).any()
    assert shapely.is_valid(arr).all()
    areas = shapely.area(arr)
    assert (areas > 0).all()
    assert areas.sum() == pytest.approx(area.area, rel=1e-9)
    union = shapely.union_all(arr)
    assert union.area == pytest.approx(area.area, rel=1e-9)
    assert shapely.symmetric_difference(union, area).area < 1e-9 * area.area
    tree = shapely.STRtree(arr)
    i, j = tree.query(arr, predicate="intersects")
    keep = i < j
    overlap = shapely.area(shapely.intersection(arr[i[keep]], arr[j[keep]])).sum()
    assert overlap < 1e-12 * area.area
    assert keep.sum() > 0 or n == 1  # neighbours do touch


@pytest.mark.parametrize("n", [1, 2, 17, 222])
def test_partition_tiles_a_concave_polygon_with_hole(n: int) -> None:
    cells = partition(SQUARE, n, seed=7)
    check_partition(SQUARE, cells, n)


def test_partition_of_multipolygon_covers_every_part() -> None:
    cells = partition(MULTI, 30, seed=11)
    check_partition(MULTI, cells, 30)
    arr = np.array(cells, dtype=object)
    for part in MULTI.geoms:
        covered = shapely.area(shapely.intersection(arr, part)).sum()
        assert covered == pytest.approx(part.area, rel=1e-9)
    # A cell spanning the gap between two parts is a MultiPolygon, never a bridge over it.
    assert shapely.union_all(arr).area == pytest.approx(MULTI.area, rel=1e-9)


def test_partition_is_deterministic() -> None:
    a = partition(SQUARE, 40, seed=3)
    b = partition(SQUARE, 40, seed=3)
    c = partition(SQUARE, 40, seed=4)
    assert [g.wkb for g in a] == [g.wkb for g in b]
    assert [g.wkb for g in a] != [g.wkb for g in c]


def test_lloyd_relaxation_evens_out_cells() -> None:
    raw = shapely.area(np.array(partition(SQUARE, 100, seed=5, relax=0)))
    relaxed = shapely.area(np.array(partition(SQUARE, 100, seed=5, relax=3)))
    assert relaxed.std() / relaxed.mean() < raw.std() / raw.mean()


def test_partition_scales_to_25000_cells() -> None:
    """A province-sized county comes out whole (its speed is the bulk bench's: `make bench`,
    demo generation at 25,000 villages — not a timed test)."""
    county = ragged_county()
    check_partition(county, partition(county, 25_000, seed=1), 25_000)


def test_partition_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        partition(SQUARE, 0, seed=1)
    with pytest.raises(ValueError):
        partition(shapely.Polygon(), 3, seed=1)
    with pytest.raises(TypeError):
        partition(shapely.LineString([(0, 0), (1, 1)]), 3, seed=1)


def test_sample_points_inside_and_deterministic() -> None:
    pts = sample_points(MULTI, 500, seed=2)
    assert len(pts) == 500
    assert shapely.contains(MULTI, pts).all()
    again = sample_points(MULTI, 500, seed=2)
    np.testing.assert_array_equal(shapely.get_coordinates(pts), shapely.get_coordinates(again))
    other = sample_points(MULTI, 500, seed=3)
    assert not np.array_equal(shapely.get_coordinates(pts), shapely.get_coordinates(other))
    assert len(sample_points(SQUARE, 0, seed=1)) == 0
    # Uniform: the share in each part follows its area.
    share = shapely.contains(MULTI.geoms[0], pts).mean()
    assert share == pytest.approx(MULTI.geoms[0].area / MULTI.area, abs=0.06)


def test_allocate_largest_remainder() -> None:
    assert allocate(10, [1, 1, 1]) == [4, 3, 3]
    assert allocate(7, [0.5, 0.3, 0.2]) == [4, 2, 1]  # quotas 3.5, 2.1, 1.4
    assert allocate(5, [100, 0.001, 0.001]) == [3, 1, 1]
    assert allocate(3, [1, 0, 5]) == [1, 1, 1]
    rng = np.random.default_rng(0)
    weights = rng.lognormal(size=16)
    parts = allocate(222, weights)
    assert sum(parts) == 222
    assert min(parts) >= 1
    quota = 222 * weights / weights.sum()
    assert np.all(np.abs(np.array(parts) - quota) < 1)
    assert allocate(222, weights) == parts


def test_allocate_rejects_impossible_totals() -> None:
    with pytest.raises(ValueError):
        allocate(2, [1, 1, 1])
    with pytest.raises(ValueError):
        allocate(5, [])
    with pytest.raises(ValueError):
        allocate(5, [1, -1])
    with pytest.raises(ValueError):
        allocate(5, [0, 0])
    with pytest.raises(ValueError):
        allocate(5.5, [1, 1])
