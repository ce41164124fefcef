"""CAP 1.2 XML of a published warning version, in the Chinese profile (GB/T 35965.1-2018).

Everything is rendered from the stored rows (``warning`` + ``warning_version``): the message
is immutable once published, so the same version always renders the same document.

Decisions
---------
- Two ``<info>`` blocks, **zh-CN first, en-US second**, one language each (speech synthesisers
  and aggregators read one language per block); both carry the same ``<area>``.
- ``areaDesc`` is short (``麻阳苗族自治县 3个乡镇 12个村``), never the list of villages: the
  villages are ``<geocode>``s (one per village, 12-digit code) and the shape is ``<polygon>``s.
- Polygons are the union of the version's villages (not the warning's current area, which may
  have grown in a draft since): exterior rings only (holes filled: a village enclave inside the
  area is warned too rather than dropped by consumers that cannot read holes), simplified until
  each ring has at most :data:`MAX_RING_POINTS` points, snapped to 6 decimals, valid, closed,
  written ``lat,lon`` as CAP requires.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
import shapely
from lxml import etree
from psycopg.rows import dict_row
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.errors import NotFoundError
from riskmap.geo.vocabulary import CAP_12_NS as CAP_NS
from riskmap.geo.vocabulary import COLOUR_EN, COLOUR_ZH, GRADE_EN, GRADE_ZH
from riskmap.geo.warnings import cap

SQL = SqlFiles("riskmap.geo.warnings.sql")

PROFILE = "GB/T 35965.1-2018"  # CAP <code>: the profile the message follows
MAX_RING_POINTS = 100  # WEA and several aggregators accept at most 100 points per polygon
PRECISION = 1e-6  # six decimals (about 0.1 m)
COUNTY_GEOCODE = "GB/T 2260"  # 6-digit county code
VILLAGE_GEOCODE = "GB/T 2260 village"  # 12-digit village code (statistics bureau division code)
LANGUAGES = ("zh-CN", "en-US")
_ACTION_ZH = {"prepare_evacuation": "准备转移", "evacuate_now": "立即转移"}


def render_cap(conn: psycopg.Connection, warning_id: int, version: int | None = None) -> bytes:
    """The CAP 1.2 document (UTF-8 bytes) of a published version of a warning.

    Parameters
    ----------
    conn
        Connection (read only).
    warning_id
        The warning.
    version
        A published version number; ``None`` for the version the public has now.

    Raises
    ------
    NotFoundError
        If the warning has no such published version (a candidate has none).
    """
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            SQL("cap_version.sql"),
            {"id": warning_id, "version": version},
        ).fetchone()
        if row is None:
            which = f"version {version}" if version is not None else "published version"
            raise NotFoundError(f"warning {warning_id} has no {which}")
        area = cur.execute(SQL("cap_area.sql"), {"villages": row["village_codes"]}).fetchone()
    if area is None or area["geom"] is None:
        raise NotFoundError(f"warning {warning_id}: none of its villages exist any more")
    return to_bytes(build_alert(row, area))


def to_bytes(alert: etree._Element) -> bytes:
    return etree.tostring(alert, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def build_alert(row: dict[str, Any], area: dict[str, Any]) -> etree._Element:
    """The ``<alert>`` element from a version row (``cap_version.sql``) and its area
    (``cap_area.sql``); element order follows the CAP 1.2 schema's sequences."""
    alert = etree.Element(f"{{{CAP_NS}}}alert", nsmap={None: CAP_NS})
    _sub(alert, "identifier", row["cap_identifier"])
    _sub(alert, "sender", row["cap_sender"])
    _sub(alert, "sent", cap.cap_time(row["cap_sent"]))
    _sub(alert, "status", row["cap_status"])
    _sub(alert, "msgType", row["msg_type"])
    _sub(alert, "scope", "Public")
    _sub(alert, "code", PROFILE)
    if row["msg_type"] == "Cancel" and row.get("reason"):
        _sub(alert, "note", row["reason"])
    if row["msg_type"] != "Alert":
        _sub(alert, "references", row["references_text"])
    polygons = cap_polygons(shapely.from_wkb(bytes(area["geom"])))
    for lang in LANGUAGES:
        alert.append(_info(row, area, polygons, lang))
    return alert


def _info(
    row: dict[str, Any], area: dict[str, Any], polygons: list[str], lang: str
) -> etree._Element:
    zh = lang == "zh-CN"
    sfx = "_zh" if zh else "_en"
    info = etree.Element(f"{{{CAP_NS}}}info")
    _sub(info, "language", lang)
    _sub(info, "category", row["category"])
    _sub(info, "event", row["event" + sfx])
    _sub(info, "responseType", row["response_type"])
    _sub(info, "urgency", row["urgency"])
    _sub(info, "severity", row["severity"])
    _sub(info, "certainty", row["certainty"])
    _sub(info, "effective", cap.cap_time(row["effective"]))
    _sub(info, "expires", cap.cap_time(row["expires"]))
    _sub(info, "senderName", _sender_name(area, zh))
    _sub(info, "headline", row["headline" + sfx])
    _sub(info, "description", row["description" + sfx])
    _sub(info, "instruction", row["instruction" + sfx])
    colour = row["colour"]
    params = [
        ("level", GRADE_ZH[colour] if zh else GRADE_EN[colour]),
        ("colour", COLOUR_ZH[colour] if zh else COLOUR_EN[colour]),
        ("hazard", row["hazard"]),
        ("rule", f"{row['rule_id']}@{row['rule_version']}"),
        ("riskmap:warning", f"{row['warning_id']}/{row['version']}"),
    ]
    if row["action"]:
        params.append(("action", _ACTION_ZH[row["action"]] if zh else row["action"]))
    for name, value in params:
        p = etree.SubElement(info, f"{{{CAP_NS}}}parameter")
        _sub(p, "valueName", name)
        _sub(p, "value", value)
    info.append(_area(area, polygons, zh))
    return info


def _area(area: dict[str, Any], polygons: list[str], zh: bool) -> etree._Element:
    el = etree.Element(f"{{{CAP_NS}}}area")
    _sub(el, "areaDesc", area_desc(area, zh=zh))
    for ring in polygons:
        _sub(el, "polygon", ring)
    _geocode(el, COUNTY_GEOCODE, area["county_code"])
    for code in area["codes"]:
        _geocode(el, VILLAGE_GEOCODE, code)
    return el


def area_desc(area: dict[str, Any], *, zh: bool = True) -> str:
    """A short description: county, then the one township (and village) or the counts."""
    county = area["county_name"] if zh else area["county_name_en"] or area["county_name"]
    n, t = area["villages"], area["townships"]
    if zh:
        if t == 1 and n == 1:
            return f"{county} {area['first_township']} {area['first_village']}"
        if t == 1:
            return f"{county} {area['first_township']} {n}个村"
        return f"{county} {t}个乡镇 {n}个村"
    plural = "village" if n == 1 else "villages"
    if t == 1:
        return f"{county}, {area['first_township']}: {n} {plural}"
    return f"{county}: {t} townships, {n} {plural}"


def _sender_name(area: dict[str, Any], zh: bool) -> str:
    if zh:
        return f"{area['county_name']}应急管理局"
    county = area["county_name_en"] or area["county_name"]
    return f"{county} Emergency Management Bureau"


def cap_polygons(geom: BaseGeometry) -> list[str]:
    """CAP ``<polygon>`` texts of an area: exterior rings only, each valid, closed, at most
    :data:`MAX_RING_POINTS` points, six decimals, ``lat,lon`` pairs separated by spaces."""
    shells = [Polygon(p.exterior) for p in _polygons(geom)]
    # filling holes can put one part inside another: merge so no polygon hides in another
    merged = [Polygon(p.exterior) for p in _polygons(shapely.union_all(shells))]
    out: list[str] = []
    for shell in merged:
        for poly in _simplified(shell):
            out.append(" ".join(f"{_num(y)},{_num(x)}" for x, y in poly.exterior.coords))
    return out


def _simplified(shell: Polygon) -> list[Polygon]:
    """The shell with at most MAX_RING_POINTS points on a 1e-6 grid, as valid polygons."""
    tolerance = 0.0
    while True:
        g = shell if tolerance == 0 else shapely.simplify(shell, tolerance, preserve_topology=True)
        g = shapely.set_precision(g, PRECISION)  # valid output; may split or collapse
        parts = [Polygon(p.exterior) for p in _polygons(g) if p.area > 0]
        if not parts:  # smaller than the 1e-6 grid: its geocode still names the village
            return []
        if all(len(p.exterior.coords) <= MAX_RING_POINTS for p in parts):
            return parts
        tolerance = tolerance * 2 if tolerance else 1e-4


def _polygons(geom: BaseGeometry) -> list[Polygon]:
    if geom.is_empty:
        return []
    if isinstance(geom, Polygon):
        return [geom]
    return [p for g in getattr(geom, "geoms", []) for p in _polygons(g)]


def _num(v: float) -> str:
    text = f"{v:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _sub(parent: etree._Element, tag: str, text: str | datetime) -> etree._Element:
    el = etree.SubElement(parent, f"{{{CAP_NS}}}{tag}")
    el.text = str(text)
    return el


def _geocode(area: etree._Element, name: str, value: str) -> None:
    g = etree.SubElement(area, f"{{{CAP_NS}}}geocode")
    _sub(g, "valueName", name)
    _sub(g, "value", value)
