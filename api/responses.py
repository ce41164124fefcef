"""Small response shapes several routers share: FastAPI-style 422s and GeoJSON point features."""

from __future__ import annotations

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
