"""What a version says, made from a (merged) proposal: content, evidence details, the
villages left to higher warnings and the upstream signals that disagree, with their audit rows.

Shared by new warnings (``proposals``), refirings (``refire``) and candidates yielding to issued
warnings (``candidates``).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

import psycopg

from riskmap.geo.vocabulary import COLOURS
from riskmap.geo.warnings import cap, store
from riskmap.geo.warnings.lifecycle.versions import (
    TEXT_FIELDS,
)
from riskmap.geo.warnings.proposal import Proposal


def details_of(p: Proposal) -> dict[str, Any]:
    return {
        "rule_id": p.rule_id,
        "rule_version": p.rule_version,
        "fired_at": p.at.isoformat(),
        "colour": p.colour,
        "village_codes": list(p.village_codes),
        "numbers": p.evidence,
    }


def proposal_content(
    p: Proposal,
    villages: list[str],
    numbers: dict[str, Any],
    msg_type: str,
    actor: str,
    upstream: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A version's content from a (merged) proposal; ``upstream`` lists the upstream signals
    that disagree with it (kept in the evidence, shown by the API)."""
    evidence = {
        "rule_id": p.rule_id,
        "rule_version": p.rule_version,
        "at": p.at.isoformat(),
        "villages": numbers,
        "upstream_conflicts": upstream or [],
    }
    # texts rendered again from exactly this version's villages and evidence (merged or grown
    # areas): counts and numbers agree with the area (riskmap.geo.rules.render)
    rendered = p.render(villages, numbers) if p.render is not None else {}
    return {
        "msg_type": msg_type,
        "colour": p.colour,
        "action": p.action,
        "village_codes": villages,
        **{k: rendered.get(k, getattr(p, k)) for k in TEXT_FIELDS},
        "category": p.category,
        "urgency": p.urgency,
        "severity": p.severity,
        "certainty": p.certainty,
        "response_type": cap.response_type(p.action, p.extra),
        "effective": p.at,
        "expires": p.at + timedelta(hours=p.hold_hours),
        "evidence": evidence,
        "created_by": actor,
        "reason": f"rule {p.rule_id} {p.rule_version} fired {p.colour}",
    }


def only_villages(p: Proposal, villages: list[str]) -> Proposal:
    """The proposal restricted to some of its villages (the others yielded to a higher one)."""
    keep = set(villages)
    evidence = {v: n for v, n in p.evidence.items() if v in keep}
    return dataclasses.replace(p, village_codes=tuple(sorted(keep)), evidence=evidence)


def yielded(cover: list[dict[str, Any]], villages: set[str]) -> dict[str, Any]:
    """Audit details of villages left to issued warnings of the same hazard and level or
    higher: which warnings, at which level, and which villages."""
    by = [
        {"warning_id": r["id"], "colour": r["colour"], "villages": sorted(hit)}
        for r in cover
        if (hit := villages & set(r["covered"]))
    ]
    return {"villages": sorted({v for b in by for v in b["villages"]}), "by": by}


def upstream_signals(
    conn: psycopg.Connection, p: Proposal, villages: list[str], at: datetime
) -> list[dict[str, Any]]:
    """Upstream CAP signals in force for the same hazard over these villages at another level."""
    rows = store.upstream_conflicts(conn, p.hazard, p.colour, villages, at)
    return [
        {
            "identifier": r["identifier"],
            "sender": r["sender"],
            "sent": r["sent"].isoformat(),
            "expires": r["expires"].isoformat() if r["expires"] else None,
            "event": r["event"],
            "headline": r["headline"],
            "colour": r["colour"],
            "ours": p.colour,
            "higher": COLOURS.index(r["colour"]) > p.rank,
            "villages": r["villages"],
        }
        for r in rows
    ]


def upstream_flags(upstream: list[dict[str, Any]]) -> dict[str, Any]:
    return {"upstream_conflicts": upstream} if upstream else {}


def audit_trim(
    conn: psycopg.Connection,
    wid: int,
    version: int,
    p: Proposal,
    cover: list[dict[str, Any]],
    at: datetime,
    actor: str,
    villages: set[str] | None = None,
) -> None:
    """Say in the audit which villages a warning left to higher issued warnings (trim)."""
    left = yielded(
        cover,
        villages
        if villages is not None
        else set(p.village_codes) | {v for r in cover for v in r["covered"]},
    )
    if not left["by"]:
        return
    reason = (
        f"{len(left['villages'])} villages left out: already under issued warnings of the"
        f" same hazard at {p.colour} or higher"
    )
    details = details_of(p) | {"decision": "trim"} | left
    store.audit(conn, wid, version, "trim", actor, at, reason, details)
