"""The ATOM index (RFC 4287) of the CAP messages in force, as alert aggregators poll them.

Written here, beside the CAP writer (``cap_xml``), because both render the issued warnings for
the outside world; the router only hands over the connection and its own base URL.

One entry per issued warning in force, pointing at the CAP document of its published version
(``rel="alternate" type="application/cap+xml"``); a cancelled or expired warning leaves the
feed (its Cancel message stays reachable through the warning's ``.cap`` link), and so does one
whose ``<expires>`` has passed, at once, before a rules run sends its all-clear. Entries carry the
usual CAP summary elements (``cap:event``, ``cap:severity`` …) like the US NWS and MeteoAlarm
feeds, so readers can filter without fetching every document.
"""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
from lxml import etree

from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.vocabulary import ATOM_NS, GRADE_ZH
from riskmap.geo.vocabulary import CAP_12_NS as CAP_NS
from riskmap.geo.warnings import cap

ATOM_MEDIA_TYPE = "application/atom+xml"
MAX_ENTRIES = 500
SQL = SqlFiles("riskmap.geo.warnings.sql")
_A = f"{{{ATOM_NS}}}"
_C = f"{{{CAP_NS}}}"


def render_atom(conn: psycopg.Connection, base_url: str, at: datetime | None = None) -> bytes:
    """The feed (UTF-8 bytes) of every issued warning's current CAP message, newest first.

    Parameters
    ----------
    conn
        Connection (read only).
    base_url
        The service's public address ending in ``/``; links in the feed start with it.
    at
        The time the feed is for (default now): alerts in force then.
    """
    at = at or datetime.now(UTC)
    rows = SQL.rows(conn, "atom_entries.sql", {"limit": MAX_ENTRIES, "at": at})
    changed = SQL.one(conn, "atom_updated.sql", {"at": at})["updated"]
    feed = etree.Element(_A + "feed", nsmap={None: ATOM_NS, "cap": CAP_NS})
    feed.set("{http://www.w3.org/XML/1998/namespace}lang", "zh-CN")
    self_url = base_url + "api/cap/feed.atom"
    _sub(feed, "id", self_url)
    _sub(feed, "title", "riskmap 预警信息 (CAP 1.2 alerts in force)")
    _sub(feed, "updated", cap.cap_time(changed or datetime(2000, 1, 1, tzinfo=UTC)))
    author = _sub(feed, "author")
    _sub(author, "name", "riskmap 县级应急管理局预警发布")
    _link(feed, "self", ATOM_MEDIA_TYPE, self_url)
    _link(feed, "related", "application/geo+json", base_url + "api/warnings")
    for r in rows:
        feed.append(_entry(base_url, r))
    return etree.tostring(feed, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _entry(base: str, r: dict) -> etree._Element:
    cap_url = f"{base}api/warnings/{r['id']}.cap?version={r['version']}"
    entry = etree.Element(_A + "entry")
    _sub(entry, "id", cap_url)
    _sub(entry, "title", r["headline_zh"])
    _sub(entry, "updated", cap.cap_time(r["cap_sent"]))
    _sub(entry, "published", cap.cap_time(r["cap_sent"]))
    author = _sub(entry, "author")
    _sub(author, "name", f"{r['county_name'] or r['cap_sender']}应急管理局")
    _link(entry, "alternate", "application/cap+xml", cap_url)
    _link(entry, "related", "application/json", f"{base}api/warnings/{r['id']}")
    summary = _sub(entry, "summary", f"{GRADE_ZH[r['colour']]} {r['headline_en']}")
    summary.set("type", "text")
    for tag, value in (
        ("identifier", r["cap_identifier"]),
        ("sender", r["cap_sender"]),
        ("sent", cap.cap_time(r["cap_sent"])),
        ("status", r["cap_status"]),
        ("msgType", r["msg_type"]),
        ("event", r["event_zh"]),
        ("urgency", r["urgency"]),
        ("severity", r["severity"]),
        ("certainty", r["certainty"]),
        ("effective", cap.cap_time(r["effective"])),
        ("expires", cap.cap_time(r["expires"])),
    ):
        etree.SubElement(entry, _C + tag).text = value
    return entry


def _sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    el = etree.SubElement(parent, _A + tag)
    if text is not None:
        el.text = text
    return el


def _link(parent: etree._Element, rel: str, media_type: str, href: str) -> None:
    etree.SubElement(parent, _A + "link", rel=rel, type=media_type, href=href)
