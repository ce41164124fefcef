"""The OGC API – Features query parameters ``bbox`` and ``datetime`` (RFC 3339 instants and
intervals), parsed with a 400 that says what was expected."""

from __future__ import annotations

import datetime as dt
import math

from fastapi import HTTPException


def parse_bbox(text: str) -> str:
    """The bbox as hex EWKB (SRID 4326): one box, or two when it crosses the antimeridian.

    shapely (and numpy) is imported by the first bbox, not by every API worker's start."""
    import shapely

    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) not in (4, 6) or not all(math.isfinite(v) for v in values):
        raise HTTPException(400, f"bbox must be 4 or 6 comma-separated numbers, not {text!r}")
    x0, y0, x1, y1 = values if len(values) == 4 else values[:2] + values[3:5]
    if not (-180 <= x0 <= 180 and -180 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        raise HTTPException(400, "bbox must be lon -180…180, lat -90…90 with minLat <= maxLat")
    if x0 <= x1:
        geom = shapely.box(x0, y0, x1, y1)
    else:
        geom = shapely.MultiPolygon([shapely.box(x0, y0, 180, y1), shapely.box(-180, y0, x1, y1)])
    return shapely.to_wkb(shapely.set_srid(geom, 4326), hex=True, include_srid=True)


def _instant(text: str, status: int) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None or "T" not in text.upper():
        raise HTTPException(
            status, f"datetime {text!r} is not an RFC 3339 date-time (e.g. 2026-07-14T08:00:00Z)"
        )
    return value


def parse_datetime(
    text: str, *, status: int = 400, open_interval: bool = False
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """An instant or interval as (start, end); None for an open end. ``status``: the error code
    (OGC API – Features says 400; the warning list answers 422 like its other parameters);
    ``open_interval``: accept ``../..`` (no limit at all)."""
    if "/" not in text:
        t = _instant(text, status)
        return t, t
    start, end = text.split("/", 1)
    t0 = None if start in ("", "..") else _instant(start, status)
    t1 = None if end in ("", "..") else _instant(end, status)
    if t0 is None and t1 is None and not open_interval:
        raise HTTPException(status, "datetime interval needs at least one end")
    if t0 is not None and t1 is not None and t0 > t1:
        raise HTTPException(status, "datetime interval ends before it starts")
    return t0, t1
