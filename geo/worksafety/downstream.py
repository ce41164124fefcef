"""The villages downstream of a tailings dam (尾矿库下游村庄): who a dam break would reach first.

A dam break sends tailings and water down the valley below the dam. We follow the D8 flow path
of the depression-filled DEM (:func:`riskmap.geo.terrain.flow.drainage`, the same routing the
rivers and the demo use) from the dam toe, cell by cell, and stop where a safety engineer would:

* the path is longer than ``max_distance_m`` (default 10 km, measured along the path);
* the ground rises to or above the dam crest (crest = toe + dam height): the flood cannot pass a
  sill higher than the crest (a depression on the way is crossed only while its floor and rim
  stay below the crest, since routing on the filled surface runs across it);
* the path leaves the DEM (an outlet on its edge), or reaches a cell with nowhere lower to go
  (a sink: filling leaves none inland except beside a nodata hole, such as a masked lake).
  Pits and flats of the DEM do not stop it: the filled surface runs across them, and the crest
  rule above decides whether the flood would.

A village is threatened when some of it lies within ``buffer_m`` of the path (the flood wave
spreads across the valley floor, not only along the thalweg; the zone ends flat at the dam, so
nothing behind the dam counts, and round beyond the path's end) and the lowest ground of that part
is below the crest. Villages are ordered by the distance along the path where the path first
enters them, or where it passes nearest when it runs beside them: the order the wave reaches them.

Distances come from pyproj's geodesic on WGS 84 (cell steps) and from an azimuthal-equidistant
projection centred on the dam (village offsets; exact in distance from the centre and within
0.1 % at 10 km elsewhere), so a 10 km limit means 10 km on the ground at any latitude.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pyproj
import shapely
from shapely.geometry import LineString, Point
from shapely.ops import nearest_points

from riskmap.geo.errors import InvalidArgumentError
from riskmap.geo.terrain.dem import CRS_WGS84, Dem
from riskmap.geo.terrain.flow import Drainage, drainage, receivers

StopReason = Literal["distance", "above_crest", "edge", "sink"]
DEFAULT_MAX_DISTANCE_M = 10_000.0
DEFAULT_BUFFER_M = 300.0
_GEOD = pyproj.Geod(ellps="WGS84")


@dataclass(frozen=True)
class FlowPath:
    """The path from the dam toe: cells (flat indices, toe first), their centres (lon, lat),
    raw elevations (m), cumulative distance along the path (m) and why it stops."""

    cells: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    elevation: np.ndarray
    distance_m: np.ndarray
    toe_elevation_m: float
    crest_elevation_m: float
    stop_reason: StopReason

    @property
    def length_m(self) -> float:
        """Length of the path along its cells (m)."""
        return float(self.distance_m[-1])

    def line(self, start: tuple[float, float] | None = None) -> LineString:
        """The path as a lon/lat line, from ``start`` (the dam's point) when given."""
        xy = list(zip(self.lon.tolist(), self.lat.tolist(), strict=True))
        if start is not None and (start[0], start[1]) != xy[0]:
            xy.insert(0, (float(start[0]), float(start[1])))
        if len(xy) == 1:  # a path of one cell: a degenerate but valid line
            xy.append(xy[0])
        return LineString(xy)


@dataclass(frozen=True)
class ThreatenedVillage:
    """A village the path reaches: its order, distance along the path to where the path first
    comes within the buffer, its distance from the path, and its lowest ground near the path."""

    code: str
    name: str
    order: int
    distance_m: float
    offset_m: float
    min_elevation_m: float
    below_crest_m: float


def flow_path(
    dem: Dem,
    lon: float,
    lat: float,
    *,
    dam_height_m: float | None = None,
    crest_elevation_m: float | None = None,
    max_distance_m: float = DEFAULT_MAX_DISTANCE_M,
    drain: Drainage | None = None,
) -> FlowPath:
    """Follow the D8 flow path from the dam toe at (``lon``, ``lat``) until a stop rule holds.

    Parameters
    ----------
    dem
        North-up lon/lat DEM (EPSG:4326) holding the dam.
    lon, lat
        The dam's point, taken as its toe (the cell holding it starts the path).
    dam_height_m, crest_elevation_m
        The crest is ``crest_elevation_m`` when given, else toe elevation + ``dam_height_m``.
    max_distance_m
        Longest path kept, along the path (m).
    drain
        The DEM's :func:`~riskmap.geo.terrain.flow.drainage`, when the caller has it already.

    Raises
    ------
    InvalidArgumentError
        Wrong CRS, the point outside the DEM or on nodata, no crest given, a crest not above
        the toe, or a non-positive distance.
    """
    if dem.crs != CRS_WGS84:
        raise InvalidArgumentError(f"the DEM must be {CRS_WGS84}, got {dem.crs}")
    if not max_distance_m > 0:
        raise InvalidArgumentError(f"max_distance_m must be > 0, got {max_distance_m}")
    rows, cols = dem.shape
    col_f, row_f = ~dem.transform @ (lon, lat)
    row, col = math.floor(row_f), math.floor(col_f)
    if not (0 <= row < rows and 0 <= col < cols):
        raise InvalidArgumentError(f"dam point ({lon}, {lat}) lies outside the DEM {dem.bounds}")
    z = np.asarray(dem.elevation, dtype=np.float64)
    toe = float(z[row, col])
    if not math.isfinite(toe):
        raise InvalidArgumentError(f"dam point ({lon}, {lat}) lies on a nodata cell")
    crest = _crest(toe, dam_height_m, crest_elevation_m)
    drain = drain if drain is not None else drainage(dem)
    recv = receivers(drain.flow_dir)
    cells, reason = _walk(z.ravel(), recv, row * cols + col, crest, dem, max_distance_m, cols)
    lons, lats = _centres(dem, cells)
    steps = _GEOD.inv(lons[:-1], lats[:-1], lons[1:], lats[1:])[2] if cells.size > 1 else []
    dist = np.concatenate([[0.0], np.cumsum(steps)])
    return FlowPath(cells, lons, lats, z.ravel()[cells], dist, toe, crest, reason)


def _crest(toe: float, height: float | None, crest: float | None) -> float:
    if crest is None and height is None:
        raise InvalidArgumentError("give the dam height (details.dam_height_m) or the crest")
    value = float(crest) if crest is not None else toe + float(height)  # type: ignore[arg-type]
    if not value > toe:
        raise InvalidArgumentError(f"crest {value} m must be above the toe {toe:.2f} m")
    return value


def _centres(dem: Dem, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    cols = dem.shape[1]
    r, c = np.divmod(cells, cols)
    x, y = dem.transform @ (c + 0.5, r + 0.5)
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


def _walk(
    z: np.ndarray,
    recv: np.ndarray,
    start: int,
    crest: float,
    dem: Dem,
    max_distance_m: float,
    cols: int,
) -> tuple[np.ndarray, StopReason]:
    """Cells from ``start`` down the receivers, and the stop rule that ended the walk."""
    rows = dem.shape[0]
    path = [start]
    travelled = 0.0
    cur = start
    lon0, lat0 = (float(v[0]) for v in _centres(dem, np.array([start])))
    while True:
        nxt = int(recv[cur])
        if nxt < 0:
            r, c = divmod(cur, cols)
            on_edge = r in (0, rows - 1) or c in (0, cols - 1)
            return np.array(path), "edge" if on_edge else "sink"
        if z[nxt] >= crest:
            return np.array(path), "above_crest"
        lon1, lat1 = (float(v[0]) for v in _centres(dem, np.array([nxt])))
        step = _GEOD.inv(lon0, lat0, lon1, lat1)[2]
        if travelled + step > max_distance_m:
            return np.array(path), "distance"
        travelled += step
        path.append(nxt)
        cur, lon0, lat0 = nxt, lon1, lat1


def threatened_villages(
    path: FlowPath,
    dem: Dem,
    codes: Sequence[str],
    names: Sequence[str],
    polygons: Sequence[shapely.Geometry],
    *,
    start: tuple[float, float] | None = None,
    buffer_m: float = DEFAULT_BUFFER_M,
) -> list[ThreatenedVillage]:
    """The villages (lon/lat polygons) within ``buffer_m`` of the path whose lowest ground
    there is below the crest, nearest along the path first.

    The lowest ground is the lowest DEM cell centre inside the village and the buffer (the
    village's nearest point to the path when no cell centre falls there).
    """
    if buffer_m < 0:
        raise InvalidArgumentError(f"buffer_m must be >= 0, got {buffer_m}")
    if not len(codes) == len(names) == len(polygons):
        raise InvalidArgumentError("codes, names and polygons must have the same length")
    line_ll = path.line(start)
    origin = start if start is not None else (float(path.lon[0]), float(path.lat[0]))
    aeqd = pyproj.CRS.from_proj4(
        f"+proj=aeqd +lat_0={origin[1]} +lon_0={origin[0]} +datum=WGS84 +units=m"
    )
    fwd = pyproj.Transformer.from_crs(CRS_WGS84, aeqd, always_xy=True).transform
    back = pyproj.Transformer.from_crs(aeqd, CRS_WGS84, always_xy=True).transform
    line = _reproject(line_ll, fwd)
    # distances along the projected line, rescaled to the line's geodesic length so villages
    # and the stored path agree on "how far down"
    geodesic = _GEOD.geometry_length(line_ll)
    scale = geodesic / line.length if line.length > 0 and geodesic > 0 else 1.0
    zone = _zone(line, buffer_m)
    found: list[tuple[float, str, str, float, float]] = []
    for code, name, poly in zip(codes, names, polygons, strict=True):
        village = _reproject(poly, fwd)
        if not village.intersects(zone):
            continue
        offset = float(line.distance(village))
        near = village.intersection(zone)
        low = _lowest(dem, _reproject(near, back)) if not near.is_empty else None
        if low is None:
            p_village = nearest_points(village, line)[0]
            low = _sample(dem, *back(p_village.x, p_village.y))
        if low is None or not low < path.crest_elevation_m:
            continue
        found.append((_chainage(line, village, offset) * scale, code, name, offset, low))
    found.sort(key=lambda f: (f[0], f[1]))
    return [
        ThreatenedVillage(code, name, k + 1, d, off, low, path.crest_elevation_m - low)
        for k, (d, code, name, off, low) in enumerate(found)
    ]


def _reproject(geom: shapely.Geometry, fn: Callable[..., Any]) -> shapely.Geometry:
    """``geom`` through a pyproj ``transform`` (x and y arrays in, a tuple of arrays out)."""
    return shapely.transform(geom, lambda x, y: fn(x, y), interleaved=False)


def _zone(line: LineString, buffer_m: float) -> shapely.Geometry:
    """The buffer around the path: flat across the dam (the pond side is not downstream),
    round past the path's end."""
    if buffer_m == 0:
        return line
    end = Point(line.coords[-1])
    if line.length == 0:
        return end.buffer(buffer_m)
    return shapely.union(line.buffer(buffer_m, cap_style="flat"), end.buffer(buffer_m))


def _chainage(line: LineString, village: shapely.Geometry, offset: float) -> float:
    """Distance along ``line`` to its first entry into the village when it crosses it, else to
    its nearest approach."""
    if offset == 0.0:
        inside = line.intersection(village)
        pts = shapely.get_coordinates(inside)
        return float(min(line.project(Point(p)) for p in pts))
    return float(line.project(nearest_points(line, village)[0]))


def _lowest(dem: Dem, area: shapely.Geometry) -> float | None:
    """Lowest DEM value at cell centres inside ``area`` (lon/lat), None when none falls in."""
    west, south, east, north = area.bounds
    inv = ~dem.transform
    c0, r0 = inv @ (west, north)
    c1, r1 = inv @ (east, south)
    rows, cols = dem.shape
    rs = np.arange(max(0, math.floor(r0)), min(rows, math.floor(r1) + 1))
    cs = np.arange(max(0, math.floor(c0)), min(cols, math.floor(c1) + 1))
    if not rs.size or not cs.size:
        return None
    rr, cc = np.meshgrid(rs, cs, indexing="ij")
    x, y = dem.transform @ (cc + 0.5, rr + 0.5)
    inside = shapely.contains_xy(area, x, y)
    values = np.asarray(dem.elevation, dtype=np.float64)[rr[inside], cc[inside]]
    values = values[np.isfinite(values)]
    return float(values.min()) if values.size else None


def _sample(dem: Dem, lon: float, lat: float) -> float | None:
    col, row = ~dem.transform @ (lon, lat)
    r, c = math.floor(row), math.floor(col)
    rows, cols = dem.shape
    if not (0 <= r < rows and 0 <= c < cols):
        return None
    v = float(dem.elevation[r, c])
    return v if math.isfinite(v) else None
