"""ATOM index feeds of other agencies' CAP alerts, as cap_feed_entry rows.

An index entry usually only summarises or links to its alert: it is recorded with disposition
'fetch' so that the runner fetches the linked message later. An entry that embeds a full CAP
alert loads that alert at once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from cryptography import x509
from lxml import etree

from riskmap.geo.vocabulary import ATOM_NS
from riskmap.ingest.batch import RECORD, Problem
from riskmap.ingest.feeds.upstream_cap.alerts import Collected, alert_rows
from riskmap.ingest.feeds.upstream_cap.elements import (
    CAP_NS,
    IncompleteError,
    cap_alerts_in,
    first_text,
    local_name,
    namespace_of,
    parse_time,
    text_of,
)

_ENTRY_REQUIRED = ("identifier", "sender", "sent", "status", "msgType", "scope", "category")
_ENTRY_REQUIRED += ("event", "urgency", "severity", "certainty", "areaDesc")


def _cap_fields(entry: etree._Element) -> dict[str, list]:
    """The entry's cap: extension elements: {name: [text or {child: [text]}]}."""
    out: dict[str, list] = {}
    for el in entry:
        if (
            not isinstance(el.tag, str)
            or namespace_of(el) not in CAP_NS
            or local_name(el.tag) == "alert"
        ):
            continue
        if len(el):
            value: object = {}
            for c in el:
                if isinstance(c.tag, str):
                    value.setdefault(local_name(c.tag), []).append(text_of(c))  # type: ignore[union-attr]
        else:
            value = text_of(el)
        out.setdefault(local_name(el.tag), []).append(value)
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


def _entry(
    entry: etree._Element,
    n: int,
    feed_id: str,
    out: Collected,
    trusted: Sequence[x509.Certificate],
) -> None:
    label = f"entry {n}"
    entry_id = first_text(entry, ATOM_NS, "id")
    updated_raw = first_text(entry, ATOM_NS, "updated")
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
        "published": parse_time(first_text(entry, ATOM_NS, "published")),
        "title": first_text(entry, ATOM_NS, "title"),
        "link": link,
        "link_type": link_type,
        "cap_fields": json.dumps(fields, ensure_ascii=False),
        "alert_id": None,
    }
    reasons = []
    for k, alert in enumerate(cap_alerts_in(entry), start=1):
        raw = etree.tostring(alert, encoding="unicode")
        try:
            rows = alert_rows(alert, f"{label} alert {k}", raw, trusted)
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


def read_atom(
    root: etree._Element,
    source: str,
    out: Collected,
    trusted: Sequence[x509.Certificate] = (),
) -> None:
    """Add the rows of every ``<entry>`` of the Atom feed ``root`` to ``out`` (embedded alerts'
    signatures checked against ``trusted``)."""
    feed_id = first_text(root, ATOM_NS, "id") or source
    for n, entry in enumerate(root.findall(f"{{{ATOM_NS}}}entry"), start=1):
        _entry(entry, n, feed_id, out, trusted)
