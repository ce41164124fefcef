"""CAP ``<area>`` blocks as rows: polygons and circles become one geometry, geocodes JSON.

Upstream shapes are often sloppy (open rings, self-intersections, impossible coordinates). A
repairable shape is repaired and the repair noted; an unusable one is dropped as a problem of its
alert, which still loads.
"""

from __future__ import annotations

import json
import math

import shapely
from lxml import etree
from pyproj import Geod
from shapely.geometry import MultiPolygon, Polygon

from riskmap.ingest.batch import RECORD, Problem
from riskmap.ingest.feeds.upstream_cap.elements import all_texts, first_text, required, value_pairs

CIRCLE_VERTICES = 72
_GEOD = Geod(ellps="WGS84")


class AreaError(ValueError):
    """A polygon or circle that cannot be used."""


def _latlon(token: str) -> tuple[float, float]:
    """One CAP "lat,lon" pair as (lon, lat), checked for range."""
    parts = token.split(",")
    if len(parts) < 2:
        raise AreaError(f"{token!r} is not a 'lat,lon' pair")
    try:
        lat, lon = float(parts[0]), float(parts[1])
    except ValueError as exc:
        raise AreaError(f"{token!r} is not a 'lat,lon' pair") from exc
    if not (math.isfinite(lat) and math.isfinite(lon)) or abs(lat) > 90 or abs(lon) > 180:
        raise AreaError(f"{token!r} is outside latitude ±90 / longitude ±180")
    return lon, lat


def polygon_from_cap(text: str) -> tuple[list[Polygon], list[str]]:
    """Polygons of a CAP ``<polygon>`` ("lat,lon lat,lon ..."), closed and made valid.

    Returns the polygonal parts and the warnings (e.g. "ring was not closed"); raises AreaError
    when nothing usable is left.
    """
    points = [_latlon(t) for t in text.split()]
    warnings = []
    if len(points) >= 2 and points[0] != points[-1]:
        points.append(points[0])
        warnings.append("polygon ring was not closed; closed it")
    if len({p for p in points}) < 3:
        raise AreaError(f"polygon has {len(set(points))} distinct points, needs at least 3")
    poly = Polygon(points)
    if not poly.is_valid:
        warnings.append(f"polygon was invalid ({shapely.is_valid_reason(poly)}); repaired")
        poly = shapely.make_valid(poly)
    parts = _polygonal(poly)
    if not parts:
        raise AreaError("polygon has no area")
    return parts, warnings


def circle_from_cap(text: str) -> dict:
    """A CAP ``<circle>`` ("lat,lon radius_km") as {lat, lon, radius_km}."""
    bits = text.split()
    if len(bits) != 2:
        raise AreaError(f"circle {text!r} is not 'lat,lon radius_km'")
    lon, lat = _latlon(bits[0])
    try:
        radius = float(bits[1])
    except ValueError as exc:
        raise AreaError(f"circle radius {bits[1]!r} is not a number") from exc
    if not math.isfinite(radius) or radius < 0 or radius > 20_000:
        raise AreaError(f"circle radius {bits[1]!r} km is impossible")
    return {"lat": lat, "lon": lon, "radius_km": radius}


def circle_polygon(lat: float, lon: float, radius_km: float) -> Polygon:
    """Geodesic circle on WGS 84 as a polygon (true kilometres at any latitude)."""
    az = [i * 360.0 / CIRCLE_VERTICES for i in range(CIRCLE_VERTICES)]
    lons, lats, _ = _GEOD.fwd(
        [lon] * CIRCLE_VERTICES, [lat] * CIRCLE_VERTICES, az, [radius_km * 1000.0] * CIRCLE_VERTICES
    )
    ring = list(zip(lons, lats, strict=True))
    return Polygon([*ring, ring[0]])


def _polygonal(geom: shapely.Geometry) -> list[Polygon]:
    """The non-empty polygons inside ``geom`` (a make_valid result may be a collection)."""
    out: list[Polygon] = []
    for part in shapely.get_parts(geom):
        if isinstance(part, Polygon):
            if not part.is_empty:
                out.append(part)
        elif isinstance(part, (MultiPolygon, shapely.GeometryCollection)):
            out.extend(_polygonal(part))
    return out


def _union(parts: list[Polygon]) -> MultiPolygon | None:
    if not parts:
        return None
    merged = shapely.make_valid(shapely.union_all(parts))
    polys = _polygonal(merged)
    return MultiPolygon(polys) if polys else None


def area_row(area: etree._Element, ns: str, key: tuple[str, int, int], label: str) -> tuple:
    """Row of one ``<area>`` and the problems of its shapes (bad shapes are dropped)."""
    alert_id, info_no, area_no = key
    where = f"info[{info_no}]/area[{area_no}]/"
    desc = required(area, ns, "areaDesc", where)
    parts: list[Polygon] = []
    circles, warnings, problems = [], [], []
    for i, text in enumerate(all_texts(area, ns, "polygon"), start=1):
        try:
            polys, notes = polygon_from_cap(text)
            parts.extend(polys)
            warnings.extend(f"{where}polygon[{i}]: {n}" for n in notes)
        except AreaError as exc:
            problems.append(Problem(label, f"{where}polygon[{i}]", f"dropped: {exc}", text[:2000]))
    for i, text in enumerate(all_texts(area, ns, "circle"), start=1):
        try:
            circle = circle_from_cap(text)
        except AreaError as exc:
            problems.append(Problem(label, f"{where}circle[{i}]", f"dropped: {exc}", text))
            continue
        circles.append(circle)
        if circle["radius_km"] > 0:
            parts.append(circle_polygon(circle["lat"], circle["lon"], circle["radius_km"]))
        else:
            warnings.append(f"{where}circle[{i}]: radius 0 (a point) gives no area")
    altitude = _float(first_text(area, ns, "altitude"))
    ceiling = _float(first_text(area, ns, "ceiling"))
    if ceiling is not None and (altitude is None or ceiling < altitude):
        warnings.append(f"{where}ceiling without a lower altitude; ignored")
        ceiling = None
    row = {
        RECORD: f"{label} {where.rstrip('/')}",
        "alert_id": alert_id,
        "info_ordinal": info_no,
        "ordinal": area_no,
        "area_desc": desc,
        "geom": _union(parts),
        "circles": json.dumps(circles),
        "geocodes": json.dumps(value_pairs(area, ns, "geocode"), ensure_ascii=False),
        "altitude": altitude,
        "ceiling": ceiling,
    }
    return row, warnings, problems


def _float(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None
