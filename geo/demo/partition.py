"""Deterministic partitions of a county into plausible areas (townships, villages, grid cells).

The demo has real county outlines but no licensed township or village boundaries, so it cuts
the county into seeded, Lloyd-relaxed Voronoi cells: compact, contiguous-looking areas that
tile the county exactly, and look the same in every run for a given seed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely

Polygonal = shapely.Polygon | shapely.MultiPolygon


def _prepared_copy(area: Polygonal) -> Polygonal:
    """A prepared copy, so the caller's geometry is not mutated by ``shapely.prepare``."""
    copy = shapely.from_wkb(shapely.to_wkb(area))
    shapely.prepare(copy)
    return copy


def _check_area(area: Polygonal) -> None:
    if not isinstance(area, shapely.Polygon | shapely.MultiPolygon):
        raise TypeError(f"area must be a Polygon or MultiPolygon, got {area.geom_type}")
    if area.is_empty or not area.area > 0:
        raise ValueError("area is empty")


def sample_points(area: Polygonal, n: int, *, seed: int) -> np.ndarray:
    """Draw ``n`` uniformly random points strictly inside ``area``, deterministically.

    Rejection sampling in the bounding box, in vectorised batches sized from the area / box
    ratio, so even 25,000 points in a ragged county outline take milliseconds.

    Returns
    -------
    numpy.ndarray
        Object array of ``n`` shapely Points, in draw order.
    """
    _check_area(area)
    if n < 0:
        raise ValueError("n must be >= 0")
    prepared = _prepared_copy(area)
    minx, miny, maxx, maxy = area.bounds
    fill = area.area / ((maxx - minx) * (maxy - miny))
    rng = np.random.default_rng(seed)
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    got = 0
    while got < n:
        batch = int((n - got) / fill * 1.1) + 64
        x = rng.uniform(minx, maxx, batch)
        y = rng.uniform(miny, maxy, batch)
        keep = shapely.contains_xy(prepared, x, y)
        xs.append(x[keep])
        ys.append(y[keep])
        got += int(keep.sum())
    x = np.concatenate(xs)[:n] if xs else np.empty(0)
    y = np.concatenate(ys)[:n] if ys else np.empty(0)
    return shapely.points(x, y)


def _polygonal(geom: shapely.Geometry) -> Polygonal:
    """Drop any line or point debris an overlay may leave beside the polygonal result."""
    if isinstance(geom, shapely.Polygon | shapely.MultiPolygon):
        return geom
    parts = [
        p for p in shapely.get_parts(geom) if isinstance(p, shapely.Polygon | shapely.MultiPolygon)
    ]
    polys = [q for p in parts for q in shapely.get_parts(p)]
    return polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)


def _voronoi_cells(points: np.ndarray, area: Polygonal, prepared: Polygonal) -> np.ndarray:
    """Voronoi cells of ``points`` (in point order) clipped to ``area``.

    Only cells that cross the area's boundary are overlaid with it; the (many) interior cells
    are kept as they are, which is what makes 25,000 cells fast.
    """
    minx, miny, maxx, maxy = area.bounds
    pad = 0.1 * max(maxx - minx, maxy - miny)
    frame = shapely.box(minx - pad, miny - pad, maxx + pad, maxy + pad)
    diagram = shapely.voronoi_polygons(shapely.multipoints(points), extend_to=frame, ordered=True)
    cells = shapely.get_parts(diagram)
    if cells.size != points.size:
        raise ValueError("duplicate generator points")  # pragma: no cover - measure zero
    inside = shapely.contains_properly(prepared, cells)
    crossing = np.flatnonzero(~inside)
    if crossing.size:
        clipped = shapely.intersection(cells[crossing], area)
        cells[crossing] = [_polygonal(g) for g in clipped]
    return cells


def partition(area: Polygonal, n: int, *, seed: int, relax: int = 2) -> list[Polygonal]:
    """Split ``area`` into exactly ``n`` non-overlapping cells whose union is ``area``.

    Used to invent townships and villages with believable, compact shapes where no real
    boundaries are available. Generators are seeded random points inside ``area``, moved
    ``relax`` times to their cell's centroid (Lloyd relaxation) to even out cell sizes; a
    centroid falling outside ``area`` (concave or multi-part cells) is replaced by a point on
    the cell's surface.

    Every generator lies inside its own clipped cell, so no cell is empty. A cell may be a
    MultiPolygon when ``area`` is (or when clipping a cell against a ragged boundary splits
    it); every piece of ``area`` belongs to exactly one cell.

    Parameters
    ----------
    area
        Polygon or MultiPolygon to split (any planar coordinates; lon/lat is fine for
        county-sized areas).
    n
        Number of cells, >= 1.
    seed
        Seed for the generator points; the same inputs give identical geometries.
    relax
        Number of Lloyd relaxation steps.

    Returns
    -------
    list of Polygon or MultiPolygon
        ``n`` valid cells, in generator order.
    """
    _check_area(area)
    if n < 1:
        raise ValueError("n must be >= 1")
    if relax < 0:
        raise ValueError("relax must be >= 0")
    prepared = _prepared_copy(area)
    points = sample_points(area, n, seed=seed)
    cells = _voronoi_cells(points, area, prepared)
    for _ in range(relax):
        centroids = shapely.centroid(cells)
        ok = shapely.contains(prepared, centroids)
        moved = np.where(ok, centroids, shapely.point_on_surface(cells))
        moved = np.where(shapely.contains(prepared, moved), moved, points)
        xy = shapely.get_coordinates(moved)
        if np.unique(xy, axis=0).shape[0] != n:
            break  # pragma: no cover - coincident centroids would merge two cells
        points = moved
        cells = _voronoi_cells(points, area, prepared)
    return list(cells)


def allocate(counts_total: int, weights: Sequence[float]) -> list[int]:
    """Split an integer total into parts proportional to ``weights``, each at least 1.

    Shares e.g. 222 villages among townships by area: the largest-remainder (Hamilton)
    method gives each part the floor of its quota and hands the leftover units to the largest
    fractional remainders. Parts that would get 0 are raised to 1 by taking units from the
    most over-allocated parts (part − quota largest), so the sum stays exact. Ties go to the
    earlier index, so the result is deterministic.

    Raises
    ------
    ValueError
        If ``counts_total < len(weights)``, weights are empty, negative, non-finite, or all 0.
    """
    w = np.asarray(weights, dtype=np.float64)
    k = w.size
    if k == 0:
        raise ValueError("weights is empty")
    if not np.all(np.isfinite(w)) or np.any(w < 0) or not w.sum() > 0:
        raise ValueError("weights must be finite, >= 0 and not all zero")
    total = int(counts_total)
    if total != counts_total or total < k:
        raise ValueError(f"counts_total must be an integer >= len(weights) = {k}")
    quota = total * w / w.sum()
    parts = np.floor(quota).astype(np.int64)
    left = total - int(parts.sum())
    by_remainder = np.argsort(-(quota - parts), kind="stable")
    parts[by_remainder[:left]] += 1
    for i in np.flatnonzero(parts == 0):
        donors = np.flatnonzero(parts > 1)
        excess = parts[donors] - quota[donors]
        j = donors[int(np.argmax(excess))]
        parts[j] -= 1
        parts[i] = 1
    assert int(parts.sum()) == total and parts.min() >= 1
    return [int(p) for p in parts]
