"""One CAP ``<alert>`` as rows of cap_alert, cap_info, cap_area and cap_reference.

Real feeds are not always schema-valid: a message that carries everything CAP requires is loaded
with its schema errors recorded; one that lacks required content (or is an Update/Cancel without
references) raises :class:`IncompleteError` and is quarantined by the caller.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509
from lxml import etree

from riskmap.ingest.batch import RECORD, Problem
from riskmap.ingest.feeds.upstream_cap.areas import area_row
from riskmap.ingest.feeds.upstream_cap.elements import (
    CAP_NS,
    IncompleteError,
    all_texts,
    canonical,
    children,
    first_text,
    local_name,
    namespace_of,
    parse_time,
    required,
    required_enum,
    text_of,
    value_pairs,
)
from riskmap.ingest.feeds.upstream_cap.safe_xml import schema_errors
from riskmap.ingest.feeds.upstream_cap.signature import check_signature

ID_NAMESPACE = uuid.UUID("6f1c3a52-8d7e-5b0a-9c41-2e5d7f0a9b13")  # UUIDv5 namespace of alert ids

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


@dataclass
class AlertRows:
    """Rows of one alert for each table, plus its non-fatal problems."""

    alert: dict
    infos: list[dict] = field(default_factory=list)
    areas: list[dict] = field(default_factory=list)
    references: list[dict] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


@dataclass
class Collected:
    """Everything a document yields, before it becomes a Batch."""

    alerts: list[AlertRows] = field(default_factory=list)
    entries: list[dict] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


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


def _resources(info: etree._Element, ns: str) -> str:
    items = []
    for res in children(info, ns, "resource"):
        item = {local_name(c.tag): text_of(c) for c in res if isinstance(c.tag, str)}
        items.append({k: v for k, v in item.items() if v is not None and k != "derefUri"})
    return json.dumps(items, ensure_ascii=False)


def _info_row(
    info: etree._Element, ns: str, key: tuple[str, int], label: str
) -> tuple[dict, list[str]]:
    alert_id, n = key
    where = f"info[{n}]/"
    categories = all_texts(info, ns, "category")
    if not categories:
        raise IncompleteError(f"{where}category", "required <category> is missing")
    canon = [canonical(c, CATEGORY) for c in categories]
    if None in canon:
        bad = categories[canon.index(None)]
        raise IncompleteError(f"{where}category", f"<category> {bad!r} is not a CAP category")
    warnings = []
    responses = []
    for r in all_texts(info, ns, "responseType"):
        if (value := canonical(r, RESPONSE)) is None:
            warnings.append(f"{where}responseType {r!r} is not a CAP value; ignored")
        else:
            responses.append(value)
    times = {}
    for name in ("effective", "onset", "expires"):
        raw = first_text(info, ns, name)
        times[name] = parse_time(raw)
        if raw and times[name] is None:
            warnings.append(f"{where}{name} {raw!r} is not a dateTime; ignored")
    row = {
        RECORD: f"{label} info[{n}]",
        "alert_id": alert_id,
        "ordinal": n,
        "language": _language(first_text(info, ns, "language")),
        "category": list(dict.fromkeys(canon)),
        "event": required(info, ns, "event", where),
        "response_type": list(dict.fromkeys(responses)),
        "urgency": required_enum(info, ns, "urgency", URGENCY, where),
        "severity": required_enum(info, ns, "severity", SEVERITY, where),
        "certainty": required_enum(info, ns, "certainty", CERTAINTY, where),
        "audience": first_text(info, ns, "audience"),
        "event_code": json.dumps(value_pairs(info, ns, "eventCode"), ensure_ascii=False),
        **times,
        "sender_name": first_text(info, ns, "senderName"),
        "headline": first_text(info, ns, "headline"),
        "description": first_text(info, ns, "description"),
        "instruction": first_text(info, ns, "instruction"),
        "web": first_text(info, ns, "web"),
        "contact": first_text(info, ns, "contact"),
        "parameters": json.dumps(value_pairs(info, ns, "parameter"), ensure_ascii=False),
        "resources": _resources(info, ns),
    }
    return row, warnings


def alert_rows(
    alert: etree._Element,
    label: str,
    raw_xml: str,
    trusted: Sequence[x509.Certificate] = (),
) -> AlertRows:
    """Rows of one ``<alert>`` element (CAP 1.1 or 1.2), its XML signature checked against the
    ``trusted`` certificates.

    Raises IncompleteError when required content is missing or invalid (the caller quarantines it);
    schema errors and bad shapes only annotate the rows.
    """
    ns = namespace_of(alert)
    version = CAP_NS[ns]
    identifier = required(alert, ns, "identifier", "")
    sender = required(alert, ns, "sender", "")
    sent_raw = required(alert, ns, "sent", "")
    sent = parse_time(sent_raw)
    if sent is None:
        raise IncompleteError("sent", f"<sent> {sent_raw!r} is not a dateTime")
    msg_type = required_enum(alert, ns, "msgType", MSG_TYPE, "")
    refs_raw = first_text(alert, ns, "references")
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
        "status": required_enum(alert, ns, "status", STATUS, ""),
        "msg_type": msg_type,
        "source": first_text(alert, ns, "source"),
        "scope": required_enum(alert, ns, "scope", SCOPE, ""),
        "restriction": first_text(alert, ns, "restriction"),
        "addresses": first_text(alert, ns, "addresses"),
        "code": all_texts(alert, ns, "code"),
        "note": first_text(alert, ns, "note"),
        "references_raw": refs_raw,
        "incidents": first_text(alert, ns, "incidents"),
        "cap_version": version,
        "raw_xml": raw_xml,
    }
    out = AlertRows(row)
    for n, info in enumerate(children(alert, ns, "info"), start=1):
        info_row, notes = _info_row(info, ns, (alert_id, n), label)
        out.infos.append(info_row)
        warnings.extend(notes)
        for m, area in enumerate(children(info, ns, "area"), start=1):
            row_of_area, notes, problems = area_row(area, ns, (alert_id, n, m), label)
            out.areas.append(row_of_area)
            warnings.extend(notes)
            warnings.extend(f"{p.field}: {p.reason}" for p in problems)
            out.problems.extend(problems)
    out.references = [
        {RECORD: f"{label} references[{i}]", "alert_id": alert_id, "ordinal": i, **r}
        for i, r in enumerate(references, start=1)
    ]
    errors = schema_errors(alert, version)
    row.update(schema_valid=not errors, schema_errors=errors, warnings=warnings)
    signed = check_signature(alert, trusted)
    row.update(
        signature_status=signed.status,
        signature_reason=signed.reason,
        signature_signer=signed.signer,
    )
    return out
