"""Small response shapes several routers share: FastAPI-style 422s, GeoJSON point features, and
provenance with the server's file paths reduced to file names."""

from __future__ import annotations

import re
from typing import Any

from fastapi import HTTPException


def invalid(field: str, msg: str, where: str = "query") -> HTTPException:
    """A 422 shaped like FastAPI's own validation errors, naming the field."""
    return HTTPException(422, [{"loc": [where, field], "msg": msg, "type": "value_error"}])


def point_feature(row: dict[str, Any]) -> dict[str, Any]:
    """A GeoJSON (RFC 7946) point feature from a row with ``lon``/``lat``; 6 decimals ≈ 0.1 m."""
    props = {k: v for k, v in row.items() if k not in ("lon", "lat")}
    if props.get("distance_m") is not None:
        props["distance_m"] = round(props["distance_m"], 1)
    return {
        "type": "Feature",
        "id": row["id"],
        "geometry": {"type": "Point", "coordinates": [round(row["lon"], 6), round(row["lat"], 6)]},
        "properties": props,
    }


_ABSOLUTE = re.compile(r"^(/|[A-Za-z]:[\\/]|\\\\)[^\n]*$")  # /srv/…, C:\…, \\host\…


def file_names(value: Any) -> Any:
    """``value`` with every absolute file path (a string, at any depth) cut to its file name.

    Provenance records where inputs were read (``{"dem": {"path": "/srv/riskmap/dem.tif",
    "sha256": …}}``); the file name and hash identify the input, while the folders tell a
    caller how the server is laid out, which is none of its business.
    """
    if isinstance(value, dict):
        return {k: file_names(v) for k, v in value.items()}
    if isinstance(value, list):
        return [file_names(v) for v in value]
    if isinstance(value, str) and _ABSOLUTE.match(value):
        return re.split(r"[\\/]", value.rstrip("/\\"))[-1]
    return value
