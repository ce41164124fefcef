"""Reading GeoJSON (and JSON text) as the geohazard and fire feeds receive it.

Provincial exports are UTF-8 or GB18030 and may carry a legacy ``crs`` member for CGCS2000;
this reads them into features with folded property names and a transformer to WGS 84.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
from pyproj import Transformer

from riskmap.ingest.batch import FeedReadError, Problem
from riskmap.ingest.feeds.features.crs import transformer_for
from riskmap.ingest.feeds.features.fields import norm_key
from riskmap.ingest.feeds.features.geometry import checked_geometry


def read_text(path: Path) -> str:
    """Whole file as text (UTF-8 with or without BOM, then GB18030); empty → FeedReadError."""
    data = path.read_bytes()
    if not data.strip():
        raise FeedReadError(f"{path.name}: empty file")
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise FeedReadError(f"{path.name}: neither UTF-8 nor GB18030 text")


@dataclass
class GeoFeature:
    """One GeoJSON feature: where it is in the file, its folded properties and raw geometry."""

    record: str
    props: dict[str, Any]
    geometry: dict | None
    raw: str


def read_geojson(path: Path) -> tuple[dict[str, Any], list[GeoFeature], Transformer | None]:
    """Top-level members (folded), features and the transformer to WGS 84 of a GeoJSON file.

    RFC 7946 GeoJSON is WGS 84; a legacy ``crs`` member (e.g. ``EPSG:4490``) is honoured.
    Raises FeedReadError when the file is not a GeoJSON Feature or FeatureCollection.
    """
    try:
        doc = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise FeedReadError(f"{path.name}: not JSON ({exc})") from exc
    if not isinstance(doc, dict) or doc.get("type") not in ("FeatureCollection", "Feature"):
        raise FeedReadError(f"{path.name}: not a GeoJSON Feature or FeatureCollection")
    items = doc.get("features") if doc["type"] == "FeatureCollection" else [doc]
    if not isinstance(items, list):
        raise FeedReadError(f"{path.name}: 'features' is not a list")
    if not items:
        raise FeedReadError(f"{path.name}: no features")
    crs = doc.get("crs")
    transformer = None
    if isinstance(crs, dict):
        crs_props = crs.get("properties")
        name = crs_props.get("name") if isinstance(crs_props, dict) else None
        if name:
            transformer = transformer_for(name, path)
    top = {norm_key(k): v for k, v in doc.items() if not isinstance(v, (list, dict))}
    if isinstance(doc.get("properties"), dict):
        top.update({norm_key(k): v for k, v in doc["properties"].items()})
    features = []
    for i, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            features.append(GeoFeature(f"feature {i}", {}, None, json.dumps(item)[:2000]))
            continue
        given = item.get("properties")
        props = {norm_key(k): v for k, v in given.items()} if isinstance(given, dict) else {}
        if "id" in item and "id" not in props:
            props["id"] = item["id"]
        raw = json.dumps(item, ensure_ascii=False, default=str)[:2000]
        features.append(GeoFeature(f"feature {i}", props, item.get("geometry"), raw))
    return top, features, transformer


def feature_geometry(
    feature: GeoFeature, transformer: Transformer | None, want: str
) -> shapely.Geometry | Problem:
    """The feature's geometry in WGS 84 as ``want`` ('Point' or 'MultiPolygon') or a Problem."""
    if not feature.geometry:
        return Problem(feature.record, "geometry", "no geometry", feature.raw)
    try:
        geom = shapely.geometry.shape(feature.geometry)
    except Exception as exc:  # shapely raises several types for malformed coordinates
        return Problem(feature.record, "geometry", f"malformed geometry: {exc}", feature.raw)
    return checked_geometry(geom, feature.record, transformer, want, feature.raw)
