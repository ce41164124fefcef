"""Upstream alerts: CAP 1.1 / 1.2 messages and CAP Atom index feeds from other agencies.

One kind, ``cap``, takes a single CAP message (default namespace or ``cap:``-prefixed, with or
without a BOM, xml-stylesheet PIs or an XML-DSig signature), a wrapper such as EDXL-DE holding one
or more alerts, or an Atom index feed. XML is parsed hardened: a DOCTYPE is refused outright (CAP
never needs one, and that rules out external entities and entity-expansion bombs), and the parser
itself resolves no entities, loads no DTD and never touches the network.

Messages are validated against the bundled OASIS schemas, but real feeds are not always valid:
a message that carries everything CAP requires is loaded with its schema errors recorded; one that
lacks required content (or is an Update/Cancel without references) is quarantined. Update and
Cancel messages change the state of the alerts they reference in ``after_load``, in whichever
order the messages arrive.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from importlib import resources
from pathlib import Path

import pandas as pd
import psycopg
import shapely
from lxml import etree
from pyproj import Geod
from shapely.geometry import MultiPolygon, Polygon

from riskmap.geo.db.sqlfiles import load_sql
from riskmap.ingest.pipeline import (
    RECORD,
    Batch,
    Context,
    FeedReadError,
    Problem,
    TableLoad,
    register,
)

KIND = "cap"
CAP_NS = {
    "urn:oasis:names:tc:emergency:cap:1.2": "1.2",
    "urn:oasis:names:tc:emergency:cap:1.1": "1.1",
}
CAP10_NS = "http://www.incident.com/cap/1.0"
ATOM_NS = "http://www.w3.org/2005/Atom"
EDXL_ROOT = "EDXLDistribution"
MAX_BYTES = 32 << 20  # a CAP message is kilobytes; a national Atom index well under a megabyte
BEIJING = timezone(timedelta(hours=8))
ID_NAMESPACE = uuid.UUID("6f1c3a52-8d7e-5b0a-9c41-2e5d7f0a9b13")  # UUIDv5 namespace of alert ids
CIRCLE_VERTICES = 72
_GEOD = Geod(ellps="WGS84")

STATUS = ("Actual", "Exercise", "System", "Test", "Draft")
MSG_TYPE = ("Alert", "Update", "Cancel", "Ack", "Error")
SCOPE = ("Public", "Restricted", "Private")
CATEGORY = (
    "Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport", "Infra",
    "CBRNE", "Other",
)  # fmt: skip
RESPONSE = (
    "Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "AllClear", "None",
)  # fmt: skip
URGENCY = ("Immediate", "Expected", "Future", "Past", "Unknown")
SEVERITY = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
CERTAINTY = ("Observed", "Likely", "Possible", "Unlikely", "Unknown")


def shared_schema_dir() -> Path:
    """Folder of the OASIS schemas in the shared sample data (tests compare the bundled copies).

    The product never reads it: validation uses the copies bundled in ``ingest/feeds/schemas``.
    """
    return Path(__file__).resolve().parents[3] / "shared" / "data" / "cap" / "schema"


def _hardened_parser() -> etree.XMLParser:
    """No entity resolution, no DTD loading, no network, no huge trees (defence in depth: a
    DOCTYPE is refused before parsing anyway)."""
    return etree.XMLParser(
        resolve_entities=False,
        load_dtd=False,
        dtd_validation=False,
        no_network=True,
        huge_tree=False,
        remove_comments=False,
    )


@cache
def cap_schema(version: str) -> etree.XMLSchema:
    """The OASIS CAP schema of ``version`` ('1.1' or '1.2'), read from the package."""
    name = f"CAP-v{version}.xsd"
    data = (resources.files("riskmap.ingest.feeds") / "schemas" / name).read_bytes()
    return etree.XMLSchema(etree.fromstring(data, _hardened_parser()))


# -- reading bytes safely ---------------------------------------------------------------------

_PROLOG_SKIP = re.compile(r"\s+|<\?.*?\?>|<!--.*?-->", re.S)


def _head_text(head: bytes) -> str:
    """The head decoded well enough to read the prolog (UTF-16 or an ASCII-compatible code)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", errors="replace").lstrip("\ufeff")
    if len(head) > 1 and (head[0] == 0) != (head[1] == 0):
        return head.decode("utf-16-be" if head[0] == 0 else "utf-16-le", errors="replace")
    return head.removeprefix(b"\xef\xbb\xbf").decode("latin-1")


def _after_prolog(text: str) -> str:
    """``text`` from the first markup that is not whitespace, a PI or a comment."""
    pos = 0
    while m := _PROLOG_SKIP.match(text, pos):
        pos = m.end()
    return text[pos:]


def _root_tag(text: str) -> str | None:
    """The root start tag (``<name attrs...``) after the prolog and any DOCTYPE, or None."""
    rest = _after_prolog(text)
    if rest[:9].upper() == "<!DOCTYPE":
        close = "]>" if "[" in rest.split(">", 1)[0] else ">"
        end = rest.find(close)
        rest = _after_prolog(rest[end + len(close) :]) if end >= 0 else ""
    m = re.match(r"<([A-Za-z_][\w.:-]*)([^>]*)", rest)
    return m.group(0) if m else None


def _local(tag: str) -> str:
    return tag.split(":", 1)[-1] if not tag.startswith("{") else tag.split("}", 1)[1]


def _refuse_unsafe_or_foreign(data: bytes, source: str) -> None:
    """Reject before parsing: empty files, HTML pages and any DOCTYPE (XXE, entity bombs)."""
    text = _head_text(data[:65536])
    rest = _after_prolog(text)
    if not rest.strip():
        raise FeedReadError(f"{source}: empty file (no XML element)")
    lowered = rest[:200].lower()
    if lowered.startswith(("<!doctype html", "<html")):
        title = _html_title(data[:65536], text)
        what = f" ({title!r})" if title else ""
        raise FeedReadError(
            f"{source}: not CAP: an HTML page{what}, e.g. a web server error page served in "
            "place of the message"
        )
    if lowered.startswith("<!doctype"):
        raise FeedReadError(
            f"{source}: refused: the document has a DOCTYPE/DTD; CAP needs none and DTDs allow "
            "external entities (XXE) and entity expansion (billion laughs)"
        )


def _html_title(head: bytes, text: str) -> str | None:
    """The page's <title>, decoded with the charset the page declares (e.g. Big5)."""
    m = re.search(rb"<title>(.*?)</title>", head, re.S | re.I)
    if m is None:
        return None
    charset = re.search(r"charset=[\"']?([\w-]+)", text, re.I)
    try:
        title = m.group(1).decode(charset.group(1) if charset else "utf-8")
    except (LookupError, UnicodeDecodeError):
        title = m.group(1).decode("latin-1")
    return " ".join(title.split())[:80]


def read_xml(data: bytes, source: str) -> etree._Element:
    """The root element of ``data``, parsed with every dangerous XML feature off.

    Raises FeedReadError with one clear message for empty, oversized, HTML, DTD-carrying or
    malformed (e.g. truncated) input.
    """
    if len(data) > MAX_BYTES:
        raise FeedReadError(f"{source}: {len(data)} bytes is too large for a CAP message or feed")
    _refuse_unsafe_or_foreign(data, source)
    try:
        root = etree.fromstring(data, _hardened_parser())
    except etree.XMLSyntaxError as exc:
        raise FeedReadError(f"{source}: not well-formed XML: {exc}") from exc
    info = root.getroottree().docinfo
    if info.internalDTD is not None or info.doctype:
        raise FeedReadError(f"{source}: refused: the document has a DOCTYPE/DTD")
    return root


# -- small XML helpers ------------------------------------------------------------------------


def _ns(el: etree._Element) -> str:
    return etree.QName(el).namespace or ""


def _children(el: etree._Element, ns: str, name: str) -> list[etree._Element]:
    return el.findall(f"{{{ns}}}{name}")


def _text(el: etree._Element | None) -> str | None:
    if el is None or el.text is None:
        return None
    value = el.text.strip()
    return value or None


def _first(el: etree._Element, ns: str, name: str) -> str | None:
    return _text(el.find(f"{{{ns}}}{name}"))


def _all(el: etree._Element, ns: str, name: str) -> list[str]:
    return [t for c in _children(el, ns, name) if (t := _text(c)) is not None]


def _pairs(el: etree._Element, ns: str, name: str) -> dict[str, list[str]]:
    """CAP valueName/value pairs (eventCode, parameter, geocode) as {valueName: [values]}."""
    out: dict[str, list[str]] = {}
    for pair in _children(el, ns, name):
        key = _first(pair, ns, "valueName") or ""
        value = _first(pair, ns, "value")
        out.setdefault(key, [])
        if value is not None:
            out[key].append(value)
    return out


def _canon(value: str | None, allowed: tuple[str, ...]) -> str | None:
    """The allowed spelling of ``value`` compared case-insensitively, else None."""
    if value is None:
        return None
    return next((a for a in allowed if a.lower() == value.lower()), None)


def parse_time(text: str | None) -> datetime | None:
    """A CAP dateTime as UTC; a time without offset is taken as Beijing time (GB/T 35965.1).

    Returns None for missing or unparseable text.
    """
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=BEIJING)
    return value.astimezone(UTC)


def _is_naive(text: str) -> bool:
    try:
        return datetime.fromisoformat(text.strip()).tzinfo is None
    except ValueError:
        return False


def _language(tag: str | None) -> str:
    """BCP 47 tag in canonical case ('Zh-TW', 'zh-tw' -> 'zh-TW'); CAP's default is en-US."""
    if not tag:
        return "en-US"
    parts = tag.replace("_", "-").split("-")
    out = [parts[0].lower()]
    for p in parts[1:]:
        out.append(p.upper() if len(p) == 2 else p.title() if len(p) == 4 else p.lower())
    return "-".join(out)


def alert_uuid(sender: str, identifier: str) -> str:
    """Stable id of an alert: UUIDv5 of (sender, identifier), CAP's unique pair."""
    return str(uuid.uuid5(ID_NAMESPACE, f"{sender}\x1f{identifier}"))


# -- geometry ---------------------------------------------------------------------------------


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


# -- one alert --------------------------------------------------------------------------------


@dataclass
class AlertRows:
    """Rows of one alert for each table, plus its non-fatal problems."""

    alert: dict
    infos: list[dict] = field(default_factory=list)
    areas: list[dict] = field(default_factory=list)
    references: list[dict] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


class IncompleteError(ValueError):
    """The message lacks content CAP requires: it is quarantined, not loaded."""

    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field_name


def _required(el: etree._Element, ns: str, name: str, where: str) -> str:
    value = _first(el, ns, name)
    if value is None:
        raise IncompleteError(f"{where}{name}", f"required <{name}> is missing or empty")
    return value


def _enum(el: etree._Element, ns: str, name: str, allowed: tuple[str, ...], where: str) -> str:
    raw = _required(el, ns, name, where)
    value = _canon(raw, allowed)
    if value is None and name == "certainty" and raw.lower() == "very likely":
        return "Likely"  # CAP 1.1's "Very Likely", deprecated in 1.2
    if value is None:
        raise IncompleteError(
            f"{where}{name}", f"<{name}> {raw!r} is not one of {', '.join(allowed)}"
        )
    return value


def parse_references(text: str) -> list[dict]:
    """CAP ``<references>``: space-separated "sender,identifier,sent" triples.

    Raises IncompleteError when a triple is malformed (an Update/Cancel must say what it replaces).
    """
    out, seen = [], set()
    for i, triple in enumerate(text.split(), start=1):
        bits = triple.split(",")
        if len(bits) != 3 or not bits[0] or not bits[1]:
            raise IncompleteError(
                "references", f"reference {i} {triple!r} is not sender,identifier,sent"
            )
        if (bits[0], bits[1]) in seen:
            continue
        seen.add((bits[0], bits[1]))
        out.append(
            {"ref_sender": bits[0], "ref_identifier": bits[1], "ref_sent": parse_time(bits[2])}
        )
    return out


def _schema_errors(alert: etree._Element, version: str) -> list[str]:
    schema = cap_schema(version)
    if schema.validate(alert):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]  # type: ignore[attr-defined]


def _area_rows(area: etree._Element, ns: str, key: tuple[str, int, int], label: str) -> tuple:
    """Row of one ``<area>`` and the problems of its shapes (bad shapes are dropped)."""
    alert_id, info_no, area_no = key
    where = f"info[{info_no}]/area[{area_no}]/"
    desc = _required(area, ns, "areaDesc", where)
    parts: list[Polygon] = []
    circles, warnings, problems = [], [], []
    for i, text in enumerate(_all(area, ns, "polygon"), start=1):
        try:
            polys, notes = polygon_from_cap(text)
            parts.extend(polys)
            warnings.extend(f"{where}polygon[{i}]: {n}" for n in notes)
        except AreaError as exc:
            problems.append(Problem(label, f"{where}polygon[{i}]", f"dropped: {exc}", text[:2000]))
    for i, text in enumerate(_all(area, ns, "circle"), start=1):
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
    altitude, ceiling = _float(_first(area, ns, "altitude")), _float(_first(area, ns, "ceiling"))
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
        "geocodes": json.dumps(_pairs(area, ns, "geocode"), ensure_ascii=False),
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


def _resources(info: etree._Element, ns: str) -> str:
    items = []
    for res in _children(info, ns, "resource"):
        item = {_local(c.tag): _text(c) for c in res if isinstance(c.tag, str)}
        items.append({k: v for k, v in item.items() if v is not None and k != "derefUri"})
    return json.dumps(items, ensure_ascii=False)


def _info_row(
    info: etree._Element, ns: str, key: tuple[str, int], label: str
) -> tuple[dict, list[str]]:
    alert_id, n = key
    where = f"info[{n}]/"
    categories = _all(info, ns, "category")
    if not categories:
        raise IncompleteError(f"{where}category", "required <category> is missing")
    canon = [_canon(c, CATEGORY) for c in categories]
    if None in canon:
        bad = categories[canon.index(None)]
        raise IncompleteError(f"{where}category", f"<category> {bad!r} is not a CAP category")
    warnings = []
    responses = []
    for r in _all(info, ns, "responseType"):
        if (value := _canon(r, RESPONSE)) is None:
            warnings.append(f"{where}responseType {r!r} is not a CAP value; ignored")
        else:
            responses.append(value)
    times = {}
    for name in ("effective", "onset", "expires"):
        raw = _first(info, ns, name)
        times[name] = parse_time(raw)
        if raw and times[name] is None:
            warnings.append(f"{where}{name} {raw!r} is not a dateTime; ignored")
    row = {
        RECORD: f"{label} info[{n}]",
        "alert_id": alert_id,
        "ordinal": n,
        "language": _language(_first(info, ns, "language")),
        "category": list(dict.fromkeys(canon)),
        "event": _required(info, ns, "event", where),
        "response_type": list(dict.fromkeys(responses)),
        "urgency": _enum(info, ns, "urgency", URGENCY, where),
        "severity": _enum(info, ns, "severity", SEVERITY, where),
        "certainty": _enum(info, ns, "certainty", CERTAINTY, where),
        "audience": _first(info, ns, "audience"),
        "event_code": json.dumps(_pairs(info, ns, "eventCode"), ensure_ascii=False),
        **times,
        "sender_name": _first(info, ns, "senderName"),
        "headline": _first(info, ns, "headline"),
        "description": _first(info, ns, "description"),
        "instruction": _first(info, ns, "instruction"),
        "web": _first(info, ns, "web"),
        "contact": _first(info, ns, "contact"),
        "parameters": json.dumps(_pairs(info, ns, "parameter"), ensure_ascii=False),
        "resources": _resources(info, ns),
    }
    return row, warnings


def alert_rows(alert: etree._Element, label: str, raw_xml: str) -> AlertRows:
    """Rows of one ``<alert>`` element (CAP 1.1 or 1.2).

    Raises IncompleteError when required content is missing or invalid (the caller quarantines it);
    schema errors and bad shapes only annotate the rows.
    """
    ns = _ns(alert)
    version = CAP_NS[ns]
    identifier = _required(alert, ns, "identifier", "")
    sender = _required(alert, ns, "sender", "")
    sent_raw = _required(alert, ns, "sent", "")
    sent = parse_time(sent_raw)
    if sent is None:
        raise IncompleteError("sent", f"<sent> {sent_raw!r} is not a dateTime")
    msg_type = _enum(alert, ns, "msgType", MSG_TYPE, "")
    refs_raw = _first(alert, ns, "references")
    references = parse_references(refs_raw or "")
    if msg_type in ("Update", "Cancel") and not references:
        raise IncompleteError(
            "references", f"an {msg_type} message must reference what it replaces"
        )
    alert_id = alert_uuid(sender, identifier)
    warnings: list[str] = []
    if _is_naive(sent_raw):
        warnings.append("sent has no UTC offset; taken as Beijing time (UTC+8)")
    row = {
        RECORD: label,
        "id": alert_id,
        "identifier": identifier,
        "sender": sender,
        "sent": sent,
        "status": _enum(alert, ns, "status", STATUS, ""),
        "msg_type": msg_type,
        "source": _first(alert, ns, "source"),
        "scope": _enum(alert, ns, "scope", SCOPE, ""),
        "restriction": _first(alert, ns, "restriction"),
        "addresses": _first(alert, ns, "addresses"),
        "code": _all(alert, ns, "code"),
        "note": _first(alert, ns, "note"),
        "references_raw": refs_raw,
        "incidents": _first(alert, ns, "incidents"),
        "cap_version": version,
        "raw_xml": raw_xml,
    }
    out = AlertRows(row)
    for n, info in enumerate(_children(alert, ns, "info"), start=1):
        info_row, notes = _info_row(info, ns, (alert_id, n), label)
        out.infos.append(info_row)
        warnings.extend(notes)
        for m, area in enumerate(_children(info, ns, "area"), start=1):
            area_row, notes, problems = _area_rows(area, ns, (alert_id, n, m), label)
            out.areas.append(area_row)
            warnings.extend(notes)
            warnings.extend(f"{p.field}: {p.reason}" for p in problems)
            out.problems.extend(problems)
    out.references = [
        {RECORD: f"{label} references[{i}]", "alert_id": alert_id, "ordinal": i, **r}
        for i, r in enumerate(references, start=1)
    ]
    errors = _schema_errors(alert, version)
    row.update(schema_valid=not errors, schema_errors=errors, warnings=warnings)
    return out


# -- documents: message, wrapper, Atom feed ---------------------------------------------------


@dataclass
class Collected:
    """Everything a document yields, before it becomes a Batch."""

    alerts: list[AlertRows] = field(default_factory=list)
    entries: list[dict] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _cap_alerts_in(el: etree._Element) -> list[etree._Element]:
    return [
        a
        for a in el.iter()
        if isinstance(a.tag, str) and _local(a.tag) == "alert" and _ns(a) in CAP_NS
    ]


def _take_alert(
    alert: etree._Element, label: str, raw_xml: str, out: Collected
) -> AlertRows | None:
    """Add one alert's rows to ``out``, or its quarantine record when it is incomplete."""
    try:
        rows = alert_rows(alert, label, raw_xml)
    except IncompleteError as exc:
        out.problems.append(Problem(label, exc.field, f"not loaded: {exc}", raw_xml[:20000]))
        return None
    out.alerts.append(rows)
    out.problems.extend(rows.problems)
    return rows


def _label(n: int, alert: etree._Element) -> str:
    ident = _first(alert, _ns(alert), "identifier")
    return f"alert {n}" + (f" ({ident})" if ident else "")


def _check_root(root: etree._Element, source: str) -> str:
    """'alert', 'atom' or 'wrapper'; anything else is refused with the reason."""
    ns, local = _ns(root), _local(root.tag)
    if local == "alert" and ns in CAP_NS:
        return "alert"
    if ns == CAP10_NS:
        raise FeedReadError(
            f"{source}: CAP 1.0 (namespace {CAP10_NS}) is not supported; only CAP 1.1 and 1.2"
        )
    if local == "alert":
        raise FeedReadError(
            f"{source}: root <alert> is in namespace {ns or '(none)'!r}, which is not CAP "
            f"(expected {' or '.join(CAP_NS)})"
        )
    if local == "feed" and ns == ATOM_NS:
        return "atom"
    if _cap_alerts_in(root):
        return "wrapper"
    if local == "html" or ns == "http://www.w3.org/1999/xhtml":
        raise FeedReadError(f"{source}: not CAP: an HTML page")
    raise FeedReadError(
        f"{source}: not CAP: root element <{local}> (namespace {ns or 'none'}) holds no CAP alert"
    )


def _document_text(data: bytes, root: etree._Element) -> str:
    encoding = root.getroottree().docinfo.encoding or "utf-8"
    try:
        return data.decode(encoding).lstrip("\ufeff")
    except (LookupError, UnicodeDecodeError):
        return etree.tostring(root, encoding="unicode")


# Atom -----------------------------------------------------------------------------------------

_ENTRY_REQUIRED = ("identifier", "sender", "sent", "status", "msgType", "scope", "category")
_ENTRY_REQUIRED += ("event", "urgency", "severity", "certainty", "areaDesc")


def _cap_fields(entry: etree._Element) -> dict[str, list]:
    """The entry's cap: extension elements: {name: [text or {child: [text]}]}."""
    out: dict[str, list] = {}
    for el in entry:
        if not isinstance(el.tag, str) or _ns(el) not in CAP_NS or _local(el.tag) == "alert":
            continue
        if len(el):
            value: object = {}
            for c in el:
                if isinstance(c.tag, str):
                    value.setdefault(_local(c.tag), []).append(_text(c))  # type: ignore[union-attr]
        else:
            value = _text(el)
        out.setdefault(_local(el.tag), []).append(value)
    return out


def _entry_link(entry: etree._Element) -> tuple[str | None, str | None]:
    """The link to the CAP message: type application/cap+xml first, then rel=alternate."""
    links = [lk for lk in entry.findall(f"{{{ATOM_NS}}}link") if lk.get("href")]
    for test in (
        lambda lk: "cap" in (lk.get("type") or ""),
        lambda lk: lk.get("rel", "alternate") == "alternate",
    ):
        for lk in links:
            if test(lk):
                return lk.get("href"), lk.get("type")
    return (links[0].get("href"), links[0].get("type")) if links else (None, None)


def _missing_in_fields(fields: dict[str, list]) -> list[str]:
    names = set(fields) | ({"msgType"} if "message_type" in fields else set())
    return [n for n in _ENTRY_REQUIRED if n not in names]


def _entry(entry: etree._Element, n: int, feed_id: str, out: Collected) -> None:
    label = f"entry {n}"
    entry_id = _first(entry, ATOM_NS, "id")
    updated_raw = _first(entry, ATOM_NS, "updated")
    updated = parse_time(updated_raw)
    if entry_id is None or updated is None:
        what = "id" if entry_id is None else "updated"
        raw = etree.tostring(entry, encoding="unicode")[:20000]
        out.problems.append(Problem(label, what, f"Atom entry has no valid <{what}>", raw))
        return
    link, link_type = _entry_link(entry)
    fields = _cap_fields(entry)
    row = {
        RECORD: label,
        "feed_id": feed_id,
        "entry_id": entry_id,
        "updated": updated,
        "published": parse_time(_first(entry, ATOM_NS, "published")),
        "title": _first(entry, ATOM_NS, "title"),
        "link": link,
        "link_type": link_type,
        "cap_fields": json.dumps(fields, ensure_ascii=False),
        "alert_id": None,
    }
    reasons = []
    for k, alert in enumerate(_cap_alerts_in(entry), start=1):
        raw = etree.tostring(alert, encoding="unicode")
        try:
            rows = alert_rows(alert, f"{label} alert {k}", raw)
        except IncompleteError as exc:
            reasons.append(f"embedded CAP alert is incomplete ({exc.field}: {exc})")
            continue
        out.alerts.append(rows)
        out.problems.extend(rows.problems)
        row["alert_id"] = row["alert_id"] or rows.alert["id"]
    if row["alert_id"] is not None:
        row.update(disposition="loaded", reason=None)
    else:
        if fields and not reasons:
            missing = _missing_in_fields(fields)
            reasons.append(
                "index entry: cap: extension elements summarise the alert"
                + (f" but lack {', '.join(missing)}" if missing else "")
                + "; the full message must be fetched"
            )
        elif not reasons and "cap" in (link_type or ""):
            reasons.append("index entry only links to the CAP message; it must be fetched")
        elif not reasons:
            reasons.append("entry carries no CAP content")
        row.update(disposition="fetch" if link else "unusable", reason="; ".join(reasons))
        if not link:
            row["reason"] += "; and no link to fetch it from"
    out.entries.append(row)


def _atom(root: etree._Element, source: str, out: Collected) -> None:
    feed_id = _first(root, ATOM_NS, "id") or source
    for n, entry in enumerate(root.findall(f"{{{ATOM_NS}}}entry"), start=1):
        _entry(entry, n, feed_id, out)


def collect(data: bytes, source: str) -> Collected:
    """Rows and problems of one document (message, wrapper or Atom feed)."""
    root = read_xml(data, source)
    what = _check_root(root, source)
    out = Collected()
    if what == "atom":
        _atom(root, source, out)
    elif what == "alert":
        _take_alert(root, _label(1, root), _document_text(data, root), out)
    else:
        for n, alert in enumerate(_cap_alerts_in(root), start=1):
            _take_alert(alert, _label(n, alert), etree.tostring(alert, encoding="unicode"), out)
    return out


# -- Batch ------------------------------------------------------------------------------------


def _frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows) if rows else pd.DataFrame()


def apply_references(conn: psycopg.Connection, ingest_id: int) -> dict[str, int]:
    """After-load step: Update/Cancel references set 'updated'/'cancelled' (both arrival orders),
    then alerts whose every info block has expired become 'expired'."""
    changed = conn.execute(
        load_sql("riskmap.ingest.sql", "cap_apply_references.sql"), {"ingest_id": ingest_id}
    ).rowcount
    changed += conn.execute(
        load_sql("riskmap.ingest.sql", "cap_expire.sql"), {"now": datetime.now(UTC)}
    ).rowcount
    return {"cap_alert_state": changed} if changed else {}


def parse_cap(data: bytes, source: str) -> Batch:
    """Batch of one CAP document's bytes: for the runner when it polls a URL, and for files.

    Raises FeedReadError when the document is not a usable CAP message or feed at all.
    """
    got = collect(data, source)
    alerts = [a.alert for a in got.alerts]
    loads = [
        TableLoad("cap_alert", _frame(alerts), key=("sender", "identifier")),
        TableLoad(
            "cap_info",
            _frame([i for a in got.alerts for i in a.infos]),
            key=("alert_id", "ordinal"),
        ),
        TableLoad(
            "cap_area",
            _frame([r for a in got.alerts for r in a.areas]),
            key=("alert_id", "info_ordinal", "ordinal"),
        ),
        TableLoad(
            "cap_reference",
            _frame([r for a in got.alerts for r in a.references]),
            key=("alert_id", "ref_sender", "ref_identifier"),
        ),
        TableLoad("cap_feed_entry", _frame(got.entries), key=("feed_id", "entry_id", "updated")),
    ]
    sent = [a["sent"] for a in alerts]
    expires = [i["expires"] for a in got.alerts for i in a.infos if i["expires"] is not None]
    valid_from = min(sent) if sent else None
    valid_to = max(expires) if expires else None
    if valid_to is not None and valid_from is not None and valid_to < valid_from:
        valid_to = None
    return Batch(
        KIND,
        loads,
        got.problems,
        valid_from=valid_from,
        valid_to=valid_to,
        after_load=apply_references,
        event={
            "cap_alerts": [
                {"id": a["id"], "identifier": a["identifier"], "msg_type": a["msg_type"]}
                for a in alerts[:50]
            ],
            "cap_feed_entries": len(got.entries),
        },
    )


class CapFeed:
    """CAP 1.1/1.2 messages, wrappers holding them (EDXL-DE) and CAP Atom index feeds."""

    kind = KIND
    description = "CAP 1.1/1.2 alert messages (also in EDXL-DE) and CAP Atom index feeds"

    def sniff(self, path: Path, head: bytes) -> bool:
        """Claims ``.cap`` files, roots named ``alert`` or ``EDXLDistribution``, and Atom feeds
        that mention CAP in their first bytes."""
        try:
            if path.suffix.lower() == ".cap":
                return True
            text = _head_text(head)
            tag = _root_tag(text)
            if tag is None:
                return False
            local = _local(tag[1:].split()[0].rstrip("/"))
            if local in ("alert", EDXL_ROOT):
                return True
            return local == "feed" and (
                any(ns in text for ns in CAP_NS) or "application/cap+xml" in text
            )
        except (ValueError, IndexError, LookupError):  # undecodable head: not a CAP document
            return False

    def parse(self, path: Path, ctx: Context) -> Batch:
        """Read the file (bounded size) and parse it with :func:`parse_cap`."""
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise FeedReadError(f"{path.name}: {size} bytes is too large for a CAP document")
        return parse_cap(path.read_bytes(), path.name)


register(CapFeed())
