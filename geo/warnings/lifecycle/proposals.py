"""Applying a rules run's proposals: new warnings, or changes to the open ones they overlap.

This is the machine's side of the lifecycle (a rule fired); it is kept apart from what people
do at the desk because it alone merges proposals, matches them to open warnings and decides
between extend, escalate, de-escalate and grow.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import psycopg

from riskmap.geo.errors import InvalidArgumentError
from riskmap.geo.vocabulary import COLOURS
from riskmap.geo.warnings import cap, store
from riskmap.geo.warnings.lifecycle.versions import (
    TEXT_FIELDS,
    Action,
    Change,
    change_of,
    check_time,
    publish_draft,
    revise,
)
from riskmap.geo.warnings.proposal import Proposal


def apply_proposals(
    conn: psycopg.Connection, proposals: list[Proposal], at: datetime, actor: str = "rules"
) -> list[Change]:
    """Turn a rules run's proposals into new warnings or changes to open ones.

    Parameters
    ----------
    conn
        Connection; the whole batch is one transaction (a savepoint inside a caller's).
    proposals
        What the rules fired, grouped by rule and level.
    at
        When the run happened (audit and CAP ``sent`` times); the firing time is each
        proposal's ``at``.
    actor
        Recorded in the audit log.

    Returns
    -------
    list of Change
        One per warning created or touched, in the order applied.
    """
    check_time(at)
    for p in proposals:
        _check_proposal(p)
    groups: dict[tuple[str, str], list[Proposal]] = defaultdict(list)
    for p in proposals:
        groups[(p.rule_id, p.hazard)].append(p)
    changes: list[Change] = []
    with conn.transaction():
        for (rule_id, hazard), group in sorted(groups.items()):
            store.lock_rule(conn, rule_id, hazard)
            for warning, merged in _match(store.open_warnings(conn, rule_id, hazard), group):
                if warning is None:
                    changes.append(_create(conn, merged, at, actor))
                else:
                    changes.append(_refire(conn, warning, merged, at, actor))
    return changes


def _check_proposal(p: Proposal) -> None:
    check_time(p.at)
    if p.colour not in COLOURS:
        raise InvalidArgumentError(f"colour must be one of {', '.join(COLOURS)}, got {p.colour!r}")
    if p.review not in ("auto", "forecaster"):
        raise InvalidArgumentError(f"review must be 'auto' or 'forecaster', got {p.review!r}")
    if p.cap_status not in ("Actual", "Exercise", "Test"):
        raise InvalidArgumentError(
            f"cap_status must be 'Actual', 'Exercise' or 'Test', got {p.cap_status!r}"
        )
    if not p.village_codes:
        raise InvalidArgumentError(f"proposal of rule {p.rule_id} names no villages")


def _match(
    open_warnings: list[dict[str, Any]], proposals: list[Proposal]
) -> Iterator[tuple[dict[str, Any] | None, Proposal]]:
    """Pair proposals with the open warning they overlap most (or a new group), then merge."""
    assigned: dict[int, list[Proposal]] = defaultdict(list)
    fresh: list[list[Proposal]] = []
    for p in sorted(proposals, key=lambda q: -q.rank):
        vs = set(p.village_codes)
        best = max(open_warnings, key=lambda w: len(vs & set(w["village_codes"])), default=None)
        if best is not None and vs & set(best["village_codes"]):
            assigned[best["id"]].append(p)
            continue
        for group in fresh:
            if any(vs & set(q.village_codes) for q in group):
                group.append(p)
                break
        else:
            fresh.append([p])
    for w in open_warnings:
        if w["id"] in assigned:
            yield w, _merge(assigned[w["id"]])
    for group in fresh:
        yield None, _merge(group)


def _merge(ps: list[Proposal]) -> Proposal:
    """One proposal from several (highest first): top level, united area, numbers per village."""
    top = ps[0]
    villages = sorted({v for p in ps for v in p.village_codes})
    evidence: dict[str, dict[str, float | str]] = {}
    for p in reversed(ps):
        evidence.update(p.evidence)
    hold = max(p.hold_hours for p in ps)
    return dataclasses.replace(
        top, village_codes=tuple(villages), evidence=evidence, hold_hours=hold
    )


def _details(p: Proposal) -> dict[str, Any]:
    return {
        "rule_id": p.rule_id,
        "rule_version": p.rule_version,
        "fired_at": p.at.isoformat(),
        "colour": p.colour,
        "village_codes": list(p.village_codes),
        "numbers": p.evidence,
    }


def _content(
    p: Proposal, villages: list[str], numbers: dict[str, Any], msg_type: str, actor: str
) -> dict[str, Any]:
    """A version's content from a (merged) proposal."""
    evidence = {
        "rule_id": p.rule_id,
        "rule_version": p.rule_version,
        "at": p.at.isoformat(),
        "villages": numbers,
    }
    return {
        "msg_type": msg_type,
        "colour": p.colour,
        "action": p.action,
        "village_codes": villages,
        **{k: getattr(p, k) for k in TEXT_FIELDS},
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


def _create(conn: psycopg.Connection, p: Proposal, at: datetime, actor: str) -> Change:
    store.county_of(conn, list(p.village_codes))  # unknown villages raise before any insert
    params = {
        "rule_id": p.rule_id,
        "rule_version": p.rule_version,
        "hazard": p.hazard,
        "colour": p.colour,
        "action": p.action,
        "cap_status": p.cap_status,
        "review": p.review,
        "at": p.at,
        "expires_at": p.at + timedelta(hours=p.hold_hours),
        "hold_hours": p.hold_hours,
        "village_codes": list(p.village_codes),
    }
    wid = store.insert_warning(conn, params)
    content = _content(p, list(p.village_codes), p.evidence, "Alert", actor)
    store.save_version(conn, wid, 1, content)
    store.audit(conn, wid, 1, "propose", actor, at, content["reason"], _details(p))
    w = store.lock_warning(conn, wid)
    if p.review != "auto":
        return change_of(w, "propose", 1, "candidate", False)
    publish_draft(
        conn, w, 1, at, actor, "issue", "auto-issued: the rule's review policy is auto", "issued"
    )
    return change_of(w, "issue", 1, "issued", True)


def _refire(
    conn: psycopg.Connection, w: dict[str, Any], p: Proposal, at: datetime, actor: str
) -> Change:
    """The rule fired again over an open warning: extend, escalate, de-escalate or grow it."""
    store.county_of(conn, list(p.village_codes))
    wid, rank = w["id"], COLOURS.index(w["colour"])
    villages = sorted(set(w["village_codes"]) | set(p.village_codes))
    grown = len(villages) > len(w["village_codes"])
    expires = max(w["expires_at"], p.at + timedelta(hours=p.hold_hours))
    store.update_warning(
        conn,
        wid,
        last_fired_at=max(w["last_fired_at"], p.at),
        expires_at=expires,
        hold_hours=p.hold_hours,
        rule_version=p.rule_version,
    )
    details = _details(p)
    if p.rank == rank and not grown:
        details["expires_at"] = expires.isoformat()
        reason = "rule fired again at the same level over the same area"
        store.audit(conn, wid, w["current_version"], "extend", actor, at, reason, details)
        return change_of(w, "extend", w["current_version"], w["status"], False)
    action: Action = "escalate" if p.rank > rank else "deescalate" if p.rank < rank else "update"
    current = store.get_version(conn, wid, w["current_version"])
    numbers = {**current["evidence"].get("villages", {}), **p.evidence}
    msg_type = current["msg_type"] if current["state"] == "draft" else "Update"
    content = _content(p, villages, numbers, msg_type, actor)
    details |= {
        "from": w["colour"],
        "to": p.colour,
        "added": sorted(set(villages) - set(w["village_codes"])),
    }
    auto = p.review == "auto"
    change = revise(conn, w, current, content, at, actor, None, action, details, publish=auto)
    store.update_warning(conn, wid, review=p.review)
    return change
