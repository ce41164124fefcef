"""Geometry checks every geohazard and fire feed applies before a shape reaches the database.

One place decides what counts as a usable point or (multi)polygon and how a redrawn area is
recognised (:func:`geom_hash`), so quarantine reasons read the same across feeds.
"""

from __future__ import annotations

import hashlib

import numpy as np
import shapely
from pyproj import Transformer

from riskmap.ingest.batch import Problem
from riskmap.ingest.feeds.features.crs import out_of_range, to_wgs84


def checked_geometry(
    geom: shapely.Geometry | None,
    record: str,
    transformer: Transformer | None,
    want: str,
    raw: str | None = None,
) -> shapely.Geometry | Problem:
    """Validate and transform one geometry: type, emptiness, finiteness, validity, range."""
    if geom is None or shapely.is_empty(geom):
        return Problem(record, "geometry", "empty geometry", raw)
    if not np.isfinite(shapely.get_coordinates(geom)).all():
        return Problem(record, "geometry", "coordinates are NaN or infinite", raw)
    if want == "Point" and geom.geom_type == "MultiPoint" and len(geom.geoms) == 1:
        geom = geom.geoms[0]
    if want == "MultiPolygon" and geom.geom_type == "Polygon":
        geom = shapely.MultiPolygon([geom])
    if geom.geom_type != want:
        why = "" if shapely.is_valid(geom) else f" ({shapely.is_valid_reason(geom)})"
        return Problem(record, "geometry", f"expected a {want}, got a {geom.geom_type}{why}", raw)
    if not shapely.is_valid(geom):
        return Problem(
            record, "geometry", f"invalid geometry: {shapely.is_valid_reason(geom)}", raw
        )
    geom = to_wgs84(np.array([geom], dtype=object), transformer)[0]
    if out_of_range(geom):
        return Problem(
            record, "geometry", "coordinates outside lon -180..180 / lat -90..90 (wrong CRS?)", raw
        )
    if geom.geom_type == "MultiPolygon" and not shapely.is_valid(geom):
        geom = shapely.make_valid(geom)  # reprojection can pinch a ring; keep polygons only
        geom = shapely.MultiPolygon(
            [p for part in getattr(geom, "geoms", [geom]) for p in _polygons(part)]
        )
    return geom


def _polygons(geom: shapely.Geometry) -> list[shapely.Polygon]:
    if geom.geom_type == "Polygon":
        return [geom]
    return [p for part in getattr(geom, "geoms", []) for p in _polygons(part)]


def geom_hash(geom: shapely.Geometry) -> str:
    """md5 of the normalised WKB at 7 decimals: the same area drawn again hashes the same."""
    norm = shapely.normalize(shapely.set_precision(geom, 1e-7))
    return hashlib.md5(shapely.to_wkb(norm), usedforsecurity=False).hexdigest()
