"""CAP 1.2 XML of a published warning version, in the Chinese profile (GB/T 35965.1-2018).

Everything is rendered from the stored rows (``warning`` + ``warning_version``): the message
is immutable once published, so the same version always renders the same document.

Decisions
---------
- Two ``<info>`` blocks, **zh-CN first, en-US second**, one language each (speech synthesisers
  and aggregators read one language per block); both carry the same ``<area>``.
- ``areaDesc`` is short (``麻阳苗族自治县 3个乡镇 12个村``), never the list of villages: the
  villages are ``<geocode>``s (one per village, 12-digit code) and the shape is ``<polygon>``s.
- Polygons are drawn from the version's villages (not the warning's current area, which may
  have grown in a draft since) by :func:`riskmap.geo.warnings.cap_polygons.area_polygons`:
  hole-free (a hole holding an unwarned village is cut open, never filled), at most
  100 points each (as many polygons as needed), every warned village
  covered, every other village covered by less than 1 % of its area; six decimals, valid,
  closed, written ``lat,lon`` as CAP requires. That module's docstring gives the algorithm.
- A **draft preview** (``render_cap(..., draft=True)``, for reviewers before they issue) is the
  same document built from the current draft version, with CAP ``status`` ``Draft`` ("a
  preliminary template or draft, not actionable in its current form", CAP 1.2 §3.2.1), an
  identifier that cannot be mistaken for a GB/T 35965.1 one (``riskmap-draft-<id>-<version>``),
  ``sent`` the time of the preview and a ``<note>`` saying in both languages that it is a
  preview and was not issued. It is never delivered or stored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg
from lxml import etree
from psycopg.rows import dict_row

from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.errors import NotFoundError
from riskmap.geo.vocabulary import CAP_12_NS as CAP_NS
from riskmap.geo.vocabulary import COLOUR_EN, COLOUR_ZH, GRADE_EN, GRADE_ZH
from riskmap.geo.warnings import cap

SQL = SqlFiles("riskmap.geo.warnings.sql")

PROFILE = "GB/T 35965.1-2018"  # CAP <code>: the profile the message follows
DRAFT_IDENTIFIER = "riskmap-draft"  # a preview's identifier: never a GB/T 35965.1 one
DRAFT_NOTE = (
    "预览草稿，尚未发布，请勿转发。Draft preview, not issued: do not forward"
    " (warning {id}, version {version})."
)
COUNTY_GEOCODE = "GB/T 2260"  # 6-digit county code
VILLAGE_GEOCODE = "GB/T 2260 village"  # 12-digit village code (statistics bureau division code)
LANGUAGES = ("zh-CN", "en-US")
_ACTION_ZH = {"prepare_evacuation": "准备转移", "evacuate_now": "立即转移"}


def render_cap(
    conn: psycopg.Connection,
    warning_id: int,
    version: int | None = None,
    *,
    draft: bool = False,
    now: datetime | None = None,
) -> bytes:
    """The CAP 1.2 document (UTF-8 bytes) of a published version of a warning, or with
    ``draft=True`` the preview of its current draft (see the module docstring).

    Parameters
    ----------
    conn
        Connection (read only).
    warning_id
        The warning.
    version
        A published version number; ``None`` for the version the public has now. Not with
        ``draft`` (a warning has at most one draft, its current version).
    draft
        Preview the current draft version instead (CAP status ``Draft``).
    now
        The preview's ``sent`` (default: the current time).

    Raises
    ------
    NotFoundError
        If the warning has no such published version (a candidate has none), or no draft.
    """
    with conn.cursor(row_factory=dict_row) as cur:
        if draft:
            row = cur.execute(SQL("cap_draft.sql"), {"id": warning_id}).fetchone()
            if row is None:
                raise NotFoundError(f"warning {warning_id} has no draft awaiting review")
            row = _as_preview(row, now or datetime.now(UTC))
        else:
            row = cur.execute(
                SQL("cap_version.sql"), {"id": warning_id, "version": version}
            ).fetchone()
            if row is None:
                which = f"version {version}" if version is not None else "published version"
                raise NotFoundError(f"warning {warning_id} has no {which}")
        params = {"villages": row["village_codes"], "issuer": row["issuer_code"]}
        area = cur.execute(SQL("cap_area.sql"), params).fetchone()
    if area is None or not area["outlines"]:
        raise NotFoundError(f"warning {warning_id}: none of its villages exist any more")
    return to_bytes(build_alert(row, area))


def _as_preview(row: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A draft version row made into what :func:`build_alert` needs for a preview."""
    earlier = [
        (sender, ident, sent)
        for (sender, ident), sent in zip(
            row["earlier"] or [], row["earlier_sent"] or [], strict=True
        )
    ]
    issuer = row["issuer_code"] or row["village_codes"][0][:6]  # a city's or a county's
    return row | {
        "cap_identifier": f"{DRAFT_IDENTIFIER}-{row['warning_id']}-{row['version']}",
        "cap_sender": cap.sender_address(issuer),
        "cap_sent": now,
        "cap_status": "Draft",
        "references_text": cap.references(earlier) if row["msg_type"] != "Alert" else None,
        "note": DRAFT_NOTE.format(id=row["warning_id"], version=row["version"]),
    }


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
    if row.get("note"):
        _sub(alert, "note", row["note"])
    elif row["msg_type"] == "Cancel" and row.get("reason"):
        _sub(alert, "note", row["reason"])
    if row["msg_type"] != "Alert":
        _sub(alert, "references", row["references_text"])
    polygons = cap_polygons(area)
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


def cap_polygons(area: dict[str, Any]) -> list[str]:
    """CAP ``<polygon>`` texts of an area (``cap_area.sql``): ``lat,lon`` pairs separated by
    spaces, closed, six decimals; the shapes from :func:`area_polygons`.

    shapely (and numpy under it) is imported here, by the first CAP rendered, not by every API
    worker's start (the API imports this module for its CAP routes)."""
    import shapely

    from riskmap.geo.warnings.cap_polygons import area_polygons

    warned = [shapely.from_wkb(bytes(b)) for b in area["outlines"]]
    others = [shapely.from_wkb(bytes(b)) for b in area["others"] or []]
    return [
        " ".join(f"{_num(y)},{_num(x)}" for x, y in p.exterior.coords)
        for p in area_polygons(warned, others)
    ]


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
