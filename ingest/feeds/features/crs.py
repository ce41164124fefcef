"""Coordinate reference systems: inventories arrive in CGCS2000 or its Gauss–Krüger zones.

Everything is stored as WGS 84 lon/lat; this turns a file's declared CRS into a transformer and
tells when coordinates cannot be on Earth (the usual sign of a wrong or missing CRS).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from riskmap.ingest.batch import FeedReadError


def transformer_for(crs: object, path: Path) -> Transformer | None:
    """Transformer to WGS 84 (None when already WGS 84); unknown CRS → FeedReadError.

    CGCS2000 (EPSG:4490) and its Gauss–Krüger projections (EPSG:4491–4554) are the usual cases;
    any CRS pyproj understands is accepted. Output is always lon/lat order.
    """
    try:
        source = CRS.from_user_input(crs)
    except CRSError as exc:
        raise FeedReadError(f"{path.name}: unknown coordinate reference system {crs!r}") from exc
    if source.equals(CRS.from_epsg(4326), ignore_axis_order=True):
        return None
    return Transformer.from_crs(source, 4326, always_xy=True)


def to_wgs84(geoms: np.ndarray, transformer: Transformer | None) -> np.ndarray:
    """Geometries transformed to WGS 84 lon/lat (None stays None)."""
    if transformer is None:
        return geoms
    return shapely.transform(geoms, lambda xy: np.column_stack(transformer.transform(*xy.T)))


def out_of_range(geom: shapely.Geometry) -> bool:
    """True when any coordinate is outside lon −180…180 / lat −90…90 or not finite."""
    xy = shapely.get_coordinates(geom)
    if not np.isfinite(xy).all():
        return True
    return bool(((np.abs(xy[:, 0]) > 180) | (np.abs(xy[:, 1]) > 90)).any())
