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
from riskmap.geo.warnings import store
from riskmap.geo.warnings.lifecycle.content import (
    audit_trim,
    details_of,
    only_villages,
    proposal_content,
    upstream_flags,
    upstream_signals,
    yielded,
)
from riskmap.geo.warnings.lifecycle.expiry import end_expired
from riskmap.geo.warnings.lifecycle.refire import refire
from riskmap.geo.warnings.lifecycle.versions import (
    Change,
    change_of,
    check_time,
    publish_draft,
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
    proposals = [q for p in proposals for q in per_county(p)]
    groups: dict[tuple[str, str], list[Proposal]] = defaultdict(list)
    for p in proposals:
        groups[(p.rule_id, p.hazard)].append(p)
    changes: list[Change] = []
    with conn.transaction():
        for (rule_id, hazard), group in sorted(groups.items()):
            store.lock_rule(conn, rule_id, hazard)
            # whatever happened since the last run, what expired by now ends first (all-clear)
            changes += end_expired(conn, at, rule_id, hazard)
            for warning, merged in _match(store.open_warnings(conn, rule_id, hazard, at), group):
                own = [] if warning is None else list(warning["village_codes"])
                cover = store.covering_warnings(
                    conn,
                    hazard,
                    list(COLOURS[merged.rank :]),
                    sorted(set(merged.village_codes) | set(own)),
                    at,
                    [] if warning is None else [warning["id"]],
                )
                covered = {c for r in cover for c in r["covered"]}
                fired = [v for v in merged.village_codes if v not in covered]
                if warning is None and not fired:
                    changes.append(_suppress_new(conn, merged, cover, at, actor))
                elif warning is None:
                    changes.append(_create(conn, only_villages(merged, fired), at, actor, cover))
                else:
                    changes.append(refire(conn, warning, merged, fired, cover, at, actor))
    return changes


def per_county(p: Proposal) -> list[Proposal]:
    """The proposal split by county: a warning is one county bureau's (its sender, its review
    queue, its villages), so a rule that fires across a county border — one rain grid over a
    whole city — opens one warning in each county. A village's county is the first six digits
    of its code (GB/T 2260; admin_unit checks it)."""
    counties = sorted({v[:6] for v in p.village_codes})
    if len(counties) == 1:
        return [p]
    return [only_villages(p, [v for v in p.village_codes if v[:6] == c]) for c in counties]


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


def _suppress_new(
    conn: psycopg.Connection, p: Proposal, cover: list[dict[str, Any]], at: datetime, actor: str
) -> Change:
    """Every village of a would-be new warning is under an issued warning of the same hazard at
    the same or a higher level: no candidate; the covering warning's audit says so."""
    top = max(cover, key=lambda r: (COLOURS.index(r["colour"]), len(r["covered"])))
    w = store.lock_warning(conn, top["id"])
    details = details_of(p) | {"decision": "suppress"} | yielded(cover, set(p.village_codes))
    reason = (
        f"rule {p.rule_id} fired {p.colour} only for villages already under issued"
        f" {top['colour']} warning {top['id']}: no new candidate"
    )
    store.audit(conn, w["id"], w["published_version"], "suppress", actor, at, reason, details)
    return Change(w["id"], "suppress", w["published_version"], w["status"], w["colour"], False)


def _create(
    conn: psycopg.Connection, p: Proposal, at: datetime, actor: str, cover: list[dict[str, Any]]
) -> Change:
    villages = list(p.village_codes)
    store.county_of(conn, villages)  # unknown villages raise before any insert
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
        "village_codes": villages,
    }
    wid = store.insert_warning(conn, params)
    store.record_firing(conn, wid, villages, p.at, p.colour, p.evidence)
    upstream = upstream_signals(conn, p, villages, at)
    content = proposal_content(p, villages, p.evidence, "Alert", actor, upstream)
    store.save_version(conn, wid, 1, content)
    store.audit(
        conn,
        wid,
        1,
        "propose",
        actor,
        at,
        content["reason"],
        details_of(p) | upstream_flags(upstream),
    )
    audit_trim(conn, wid, 1, p, cover, at, actor)
    w = store.lock_warning(conn, wid)
    if p.review != "auto":
        return change_of(w, "propose", 1, "candidate", False)
    publish_draft(
        conn, w, 1, at, actor, "issue", "auto-issued: the rule's review policy is auto", "issued"
    )
    return change_of(w, "issue", 1, "issued", True)
