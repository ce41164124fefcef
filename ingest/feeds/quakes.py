"""Earthquake feeds: USGS GeoJSON summary feeds and QuakeML (1.2, and 1.0 from EMSC).

Both kinds load ``earthquake``, one row per event id. Feeds re-send events as they are revised,
so rows are upserted (``on_conflict="update"``) and a trigger in the schema
(``earthquake_keep_newest``) skips any update whose ``updated_at`` is not newer than the stored
one: an old file ingested after a new one never rolls an event back, and the pipeline's row
count stays honest (a skipped row is counted as a duplicate). Doing this in the database rather
than in ``parse`` makes it hold whatever order or process the files arrive in.

USGS variants handled: 2018 (api 1.5), 2014 (api 1.0.13, mixed-case status) and the 2013 "old"
layout (status ``REVIEWED``, no ``title``, a ``bbox``, capitalised ``magType``); null fields
are kept as NULL. Times are epoch milliseconds (UTC).

QuakeML is parsed with lxml, streaming event by event, with entity resolution, DTD loading and
network access off; a document with a DOCTYPE is refused outright.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import shapely
from lxml import etree

from riskmap.ingest.batch import RECORD, Batch, Context, FeedReadError, Problem, TableLoad
from riskmap.ingest.registry import register

MAG_RANGE = (-2.0, 10.0)
DEPTH_RANGE_KM = (-10.0, 800.0)
COLUMNS = [
    RECORD,
    "event_id",
    "source",
    "origin_time",
    "magnitude",
    "mag_type",
    "depth_km",
    "place",
    "event_type",
    "status",
    "geom",
    "updated_at",
]
QUAKEML_NAMESPACES = (
    "http://quakeml.org/xmlns/bed/1.2",
    "http://quakeml.org/xmlns/quakeml/1.0",
    "http://quakeml.org/xmlns/bed-rt/1.2",
    "http://quakeml.org/xmlns/quakeml/1.2",
)
# The IRIS event web service wrote origin depth in km, not the metres QuakeML specifies (its
# 2011 Tohoku event says 29.0: USGS gives 29 km). Events from it are read as km.
DEPTH_IN_KM_PREFIXES = ("smi:www.iris.edu/ws/event",)


def _check_event(
    record: str, raw: str, lon: Any, lat: Any, depth_km: Any, mag: Any
) -> Problem | None:
    """Range sanity: coordinates on Earth, magnitude −2…10, depth −10…800 km."""
    for field, value, lo, hi in (
        ("longitude", lon, -180.0, 180.0),
        ("latitude", lat, -90.0, 90.0),
    ):
        if not isinstance(value, (int, float)) or not math.isfinite(value) or not lo <= value <= hi:
            return Problem(
                record, field, f"{field} {value!r} missing or outside {lo:g}..{hi:g}", raw
            )
    if mag is not None and (not math.isfinite(mag) or not MAG_RANGE[0] <= mag <= MAG_RANGE[1]):
        return Problem(
            record, "mag", f"magnitude {mag} outside {MAG_RANGE[0]:g}..{MAG_RANGE[1]:g}", raw
        )
    if depth_km is not None and (
        not math.isfinite(depth_km) or not DEPTH_RANGE_KM[0] <= depth_km <= DEPTH_RANGE_KM[1]
    ):
        return Problem(record, "depth", f"depth {depth_km} km outside -10..800 km", raw)
    return None


def _float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out


def _lower(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text.lower() if text and text.lower() != "null" else None


def _batch(kind: str, rows: list[dict], problems: list[Problem]) -> Batch:
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame = frame.astype(object).where(frame.notna(), None)
    times = [r["origin_time"] for r in rows]
    return Batch(
        kind,
        [TableLoad("earthquake", frame, key=("event_id",), on_conflict="update")],
        problems,
        valid_from=min(times, default=None),
        valid_to=max(times, default=None),
        event={
            "max_magnitude": max(
                (r["magnitude"] for r in rows if r["magnitude"] is not None), default=None
            )
        },
    )


# -- USGS GeoJSON --------------------------------------------------------------------------------


def _epoch_ms(value: Any) -> datetime | None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return None
    try:
        return datetime.fromtimestamp(value / 1000.0, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


class UsgsGeoJson:
    """USGS earthquake GeoJSON summary feeds → ``earthquake``."""

    kind = "earthquakes"
    description = "USGS earthquake GeoJSON feed (summary or search)"

    def sniff(self, path: Path, head: bytes) -> bool:
        text = head.decode("utf-8", errors="ignore").lstrip("\ufeff \r\n\t")
        return (
            text.startswith("{")
            and re.search(r'"type"\s*:\s*"Feature', text) is not None
            and '"mag"' in text
            and ('"magType"' in text or "earthquake.usgs.gov" in text)
        )

    def parse(self, path: Path, ctx: Context) -> Batch:
        """Each feature: id, epoch-ms time, [lon, lat, depth km], mag, status, updated."""
        features = _usgs_features(path)
        rows, problems = [], []
        for i, feature in enumerate(features, start=1):
            out = _usgs_row(i, feature)
            (problems if isinstance(out, Problem) else rows).append(out)
        return _batch(self.kind, rows, problems)


def _usgs_features(path: Path) -> list:
    data = path.read_bytes()
    if not data.strip():
        raise FeedReadError(f"{path.name}: empty file")
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FeedReadError(f"{path.name}: not JSON ({exc})") from exc
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        return [doc]
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise FeedReadError(f"{path.name}: not a GeoJSON FeatureCollection")
    features = doc.get("features")
    if not isinstance(features, list):
        raise FeedReadError(f"{path.name}: 'features' is not a list")
    if not features:
        raise FeedReadError(f"{path.name}: no events")
    return features


def _usgs_row(i: int, feature: Any) -> dict | Problem:
    raw = json.dumps(feature, ensure_ascii=False)[:2000]
    if not isinstance(feature, dict):
        return Problem(f"feature {i}", None, "not a GeoJSON feature", raw)
    event_id = str(feature.get("id") or "").strip()
    record = f"feature {i} ({event_id})" if event_id else f"feature {i}"
    if not event_id:
        return Problem(record, "id", "no event id", raw)
    props = feature.get("properties") or {}
    if not isinstance(props, dict):
        return Problem(record, "properties", "properties is not a JSON object", raw)
    geometry = feature.get("geometry") or {}
    if not isinstance(geometry, dict):
        return Problem(record, "geometry", "geometry is not a GeoJSON object", raw)
    coords = geometry.get("coordinates") if geometry.get("type") == "Point" else None
    if not isinstance(coords, list) or len(coords) < 2:
        return Problem(record, "geometry", "no Point geometry [lon, lat, depth]", raw)
    lon, lat = _float(coords[0]), _float(coords[1])
    depth = _float(coords[2]) if len(coords) > 2 else None
    mag = _float(props.get("mag"))
    bad = _check_event(record, raw, lon, lat, depth, mag)
    if bad:
        return bad
    origin = _epoch_ms(props.get("time"))
    if origin is None:
        return Problem(record, "time", f"time {props.get('time')!r} is not epoch milliseconds", raw)
    return {
        RECORD: record,
        "event_id": event_id,
        "source": "usgs-geojson",
        "origin_time": origin,
        "magnitude": mag,
        "mag_type": _lower(props.get("magType")),
        "depth_km": depth,
        "place": props.get("place") or props.get("title"),
        "event_type": _lower(props.get("type")),
        "status": _lower(props.get("status")),
        "geom": shapely.Point(lon, lat),
        "updated_at": _epoch_ms(props.get("updated")),
    }


# -- QuakeML ---------------------------------------------------------------------------------


class QuakeMl:
    """QuakeML 1.2 (and EMSC's 1.0) event documents → ``earthquake``."""

    kind = "quakeml"
    description = "QuakeML 1.2 / 1.0 earthquake event documents"

    def sniff(self, path: Path, head: bytes) -> bool:
        text = head.decode("utf-8", errors="ignore").lstrip("\ufeff \r\n\t")
        return (
            text.startswith("<")
            and "quakeml.org/xmlns" in text
            and re.search(r"<([A-Za-z_][\w.-]*:)?quakeml[\s>]", text) is not None
        )

    def parse(self, path: Path, ctx: Context) -> Batch:
        """Stream <event> elements; each needs an origin (time, lat, lon)."""
        rows, problems = [], []
        for i, event in enumerate(_quakeml_events(path), start=1):
            out = _quakeml_row(i, event)
            (problems if isinstance(out, Problem) else rows).append(out)
            event.clear()  # bounded memory: drop the parsed event and its processed siblings
            while event.getprevious() is not None:
                del event.getparent()[0]
        if not rows and not problems:
            raise FeedReadError(f"{path.name}: no <event> in the QuakeML document")
        return _batch(self.kind, rows, problems)


def _quakeml_events(path: Path) -> Iterator[etree._Element]:
    with path.open("rb") as fh:
        start = fh.read(8192)
    if not start.strip():
        raise FeedReadError(f"{path.name}: empty file")
    if b"<!DOCTYPE" in start.upper() or b"<!ENTITY" in start.upper():
        raise FeedReadError(
            f"{path.name}: a DOCTYPE / entity declaration is not allowed in QuakeML"
        )
    root_ns = None
    try:
        for action, el in etree.iterparse(
            str(path),
            events=("start", "end"),
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
            remove_comments=True,
        ):
            if action == "start":
                if root_ns is None:
                    info = el.getroottree().docinfo  # a DOCTYPE past the first 8 KiB
                    if info.doctype or info.internalDTD is not None or info.system_url:
                        raise FeedReadError(
                            f"{path.name}: a DOCTYPE / entity declaration is not allowed in QuakeML"
                        )
                    root_ns = etree.QName(el).namespace
                    if root_ns not in QUAKEML_NAMESPACES:
                        raise FeedReadError(
                            f"{path.name}: root element is in namespace {root_ns!r}, not QuakeML"
                        )
                continue
            if etree.QName(el).localname == "event" and etree.QName(el).namespace in (
                QUAKEML_NAMESPACES
            ):
                yield el
    except etree.XMLSyntaxError as exc:
        raise FeedReadError(f"{path.name}: not well-formed XML: {exc}") from exc
    except ValueError as exc:  # lxml keeps a tag with an undeclared prefix; QName refuses it
        raise FeedReadError(f"{path.name}: not namespace-well-formed XML: {exc}") from exc


def _child(el: etree._Element | None, *names: str) -> etree._Element | None:
    """Descend through direct children by local name (namespace-agnostic: 1.0 and 1.2)."""
    for name in names:
        if el is None:
            return None
        el = next(
            (c for c in el if isinstance(c.tag, str) and etree.QName(c).localname == name), None
        )
    return el


def _text(el: etree._Element | None, *names: str) -> str | None:
    node = _child(el, *names)
    if node is None or node.text is None:
        return None
    return node.text.strip() or None


def _preferred(event: etree._Element, kind: str) -> etree._Element | None:
    """The preferred origin / magnitude (by its id), else the first one."""
    wanted = _text(event, f"preferred{kind.capitalize()}ID")
    items = [c for c in event if isinstance(c.tag, str) and etree.QName(c).localname == kind]
    for item in items:
        if wanted and item.get("publicID") == wanted:
            return item
    return items[0] if items else None


def _utc(text: str | None) -> datetime | None:
    """QuakeML times are UTC; a missing zone means UTC."""
    if not text:
        return None
    dt = datetime.fromisoformat(text.strip())
    try:
        return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
    except OverflowError as exc:  # e.g. year 1 at UTC+5: before the first UTC time
        raise ValueError(f"time {text.strip()!r} is out of range") from exc


def _quakeml_row(i: int, event: etree._Element) -> dict | Problem:
    event_id = (event.get("publicID") or "").strip()
    record = f"event {i} ({event_id})" if event_id else f"event {i}"
    raw = etree.tostring(event, encoding="unicode")[:2000]
    if not event_id:
        return Problem(record, "publicID", "event has no publicID", raw)
    origin = _preferred(event, "origin")
    if origin is None:
        return Problem(record, "origin", "event has no origin (no time or location)", raw)
    magnitude = _preferred(event, "magnitude")
    lon, lat = (
        _float(_text(origin, "longitude", "value")),
        _float(_text(origin, "latitude", "value")),
    )
    depth_m = _float(_text(origin, "depth", "value"))
    depth_km = None
    if depth_m is not None:
        depth_km = depth_m if event_id.startswith(DEPTH_IN_KM_PREFIXES) else depth_m / 1000.0
    mag = _float(_text(magnitude, "mag", "value"))
    bad = _check_event(record, raw, lon, lat, depth_km, mag)
    if bad:
        return bad
    try:
        origin_time = _utc(_text(origin, "time", "value"))
        updated = _utc(
            _text(event, "creationInfo", "creationTime")
            or _text(origin, "creationInfo", "creationTime")
        )
    except ValueError as exc:
        return Problem(record, "time", str(exc), raw)
    if origin_time is None:
        return Problem(record, "time", "origin has no time", raw)
    return {
        RECORD: record,
        "event_id": event_id,
        "source": "quakeml",
        "origin_time": origin_time,
        "magnitude": mag,
        "mag_type": _lower(_text(magnitude, "type")),
        "depth_km": depth_km,
        "place": _text(event, "description", "text"),
        "event_type": _lower(_text(event, "type")),
        "status": _lower(_text(origin, "evaluationStatus") or _text(origin, "evaluationMode")),
        "geom": shapely.Point(lon, lat),
        "updated_at": updated,
    }


register(UsgsGeoJson())
register(QuakeMl())

__all__ = ["QuakeMl", "UsgsGeoJson"]
