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
from riskmap.geo.warnings.lifecycle.expiry import end_expired
from riskmap.geo.warnings.lifecycle.versions import (
    TEXT_FIELDS,
    Action,
    Change,
    change_of,
    check_time,
    content_of,
    drop_draft,
    publish_draft,
    revise,
    why,
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
                    changes.append(_create(conn, _only(merged, fired), at, actor, cover))
                else:
                    changes.append(_refire(conn, warning, merged, fired, cover, at, actor))
    return changes


def yield_candidates(
    conn: psycopg.Connection, proposals: list[Proposal], at: datetime, actor: str = "rules"
) -> list[Change]:
    """Take out of every open candidate of the proposals' hazards the villages an issued warning
    of the same or a higher level covers now (e.g. a red warning grew over them after the
    candidate was made); a candidate left with nothing ends (audit ``suppress``), others are
    trimmed (audit ``trim``). Texts are rendered again for the remaining villages when the run's
    proposals carry the rule's renderer at that level. One transaction; run after
    :func:`apply_proposals` (the cycle does), which already keeps new villages out."""
    check_time(at)
    renders = {(p.rule_id, p.colour): p.render for p in proposals if p.render is not None}
    changes: list[Change] = []
    with conn.transaction():
        for hazard in sorted({p.hazard for p in proposals}):
            changes += _yield_hazard(conn, hazard, at, actor, renders)
    return changes


def _yield_hazard(
    conn: psycopg.Connection,
    hazard: str,
    at: datetime,
    actor: str,
    renders: dict[tuple[str, str], Any],
) -> list[Change]:
    changes: list[Change] = []
    for w in store.open_candidates(conn, hazard, at):
        rank = COLOURS.index(w["colour"])
        villages = list(w["village_codes"])
        cover = store.covering_warnings(conn, hazard, list(COLOURS[rank:]), villages, at, [w["id"]])
        covered = {c for r in cover for c in r["covered"]}
        if not covered:
            continue
        current = store.get_version(conn, w["id"], w["current_version"])
        keep = [v for v in villages if v not in covered]
        details = why(w) | {"decision": "suppress" if not keep else "trim"}
        details |= _yielded(cover, covered)
        reason = (
            f"{len(covered)} villages are under issued warnings of the same hazard at"
            f" {w['colour']} or higher"
        )
        if not keep:
            store.discard_version(conn, w["id"], current["version"])
            store.update_warning(conn, w["id"], status="expired", ended_at=at)
            store.audit(conn, w["id"], current["version"], "suppress", actor, at, reason, details)
            changes.append(change_of(w, "suppress", current["version"], "expired", False))
            continue
        content = content_of(current)
        numbers = {v: n for v, n in current["evidence"].get("villages", {}).items() if v in keep}
        content["village_codes"] = keep
        content["evidence"] = current["evidence"] | {"villages": numbers}
        render = renders.get((w["rule_id"], w["colour"]))
        if render is not None and current["created_by"] == actor:
            content |= {k: v for k, v in render(keep, numbers).items() if k in TEXT_FIELDS}
        changes.append(revise(conn, w, current, content, at, actor, reason, "trim", details, False))
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


def _only(p: Proposal, villages: list[str]) -> Proposal:
    """The proposal restricted to some of its villages (the others yielded to a higher one)."""
    keep = set(villages)
    evidence = {v: n for v, n in p.evidence.items() if v in keep}
    return dataclasses.replace(p, village_codes=tuple(sorted(keep)), evidence=evidence)


def _yielded(cover: list[dict[str, Any]], villages: set[str]) -> dict[str, Any]:
    """Audit details of villages left to issued warnings of the same hazard and level or
    higher: which warnings, at which level, and which villages."""
    by = [
        {"warning_id": r["id"], "colour": r["colour"], "villages": sorted(hit)}
        for r in cover
        if (hit := villages & set(r["covered"]))
    ]
    return {"villages": sorted({v for b in by for v in b["villages"]}), "by": by}


def _upstream(
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


def _suppress_new(
    conn: psycopg.Connection, p: Proposal, cover: list[dict[str, Any]], at: datetime, actor: str
) -> Change:
    """Every village of a would-be new warning is under an issued warning of the same hazard at
    the same or a higher level: no candidate; the covering warning's audit says so."""
    top = max(cover, key=lambda r: (COLOURS.index(r["colour"]), len(r["covered"])))
    w = store.lock_warning(conn, top["id"])
    details = _details(p) | {"decision": "suppress"} | _yielded(cover, set(p.village_codes))
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
    upstream = _upstream(conn, p, villages, at)
    content = _content(p, villages, p.evidence, "Alert", actor, upstream)
    store.save_version(conn, wid, 1, content)
    store.audit(
        conn, wid, 1, "propose", actor, at, content["reason"], _details(p) | _flags(upstream)
    )
    _audit_trim(conn, wid, 1, p, cover, at, actor)
    w = store.lock_warning(conn, wid)
    if p.review != "auto":
        return change_of(w, "propose", 1, "candidate", False)
    publish_draft(
        conn, w, 1, at, actor, "issue", "auto-issued: the rule's review policy is auto", "issued"
    )
    return change_of(w, "issue", 1, "issued", True)


def _flags(upstream: list[dict[str, Any]]) -> dict[str, Any]:
    return {"upstream_conflicts": upstream} if upstream else {}


def _audit_trim(
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
    yielded = _yielded(
        cover,
        villages
        if villages is not None
        else set(p.village_codes) | {v for r in cover for v in r["covered"]},
    )
    if not yielded["by"]:
        return
    reason = (
        f"{len(yielded['villages'])} villages left out: already under issued warnings of the"
        f" same hazard at {p.colour} or higher"
    )
    details = _details(p) | {"decision": "trim"} | yielded
    store.audit(conn, wid, version, "trim", actor, at, reason, details)


def _refire(
    conn: psycopg.Connection,
    w: dict[str, Any],
    p: Proposal,
    fired: list[str],
    cover: list[dict[str, Any]],
    at: datetime,
    actor: str,
) -> Change:
    """The rule fired again over an open warning: extend, escalate, de-escalate, grow or shrink.

    The area becomes the villages fired now (``fired``: the proposal's villages not under a
    higher issued warning) plus those fired within the rule's hold time; older ones leave it,
    so an extension never carries villages of an earlier event. A candidate also drops the
    villages a higher issued warning covers. The numbers are each village's latest.
    """
    wid, rank = w["id"], COLOURS.index(w["colour"])
    hold = timedelta(hours=p.hold_hours)
    covered = {v for r in cover for v in r["covered"]}
    if fired:
        store.county_of(conn, fired)
        store.record_firing(conn, wid, fired, p.at, p.colour, p.evidence)
        store.update_warning(
            conn,
            wid,
            last_fired_at=max(w["last_fired_at"], p.at),
            hold_hours=p.hold_hours,
            rule_version=p.rule_version,
        )
    firings = store.village_firings(conn, wid)
    kept = {v for v, f in firings.items() if f["last_fired_at"] + hold > at}
    if w["status"] == "candidate":
        kept -= covered
    villages = sorted(kept | set(fired))
    current = store.get_version(conn, wid, w["current_version"])
    details = _details(p)
    if not villages or not fired:  # nothing fired here that a higher warning does not cover
        return _suppress_open(conn, w, current, p, cover, at, actor, ended=not villages)
    numbers = {v: (p.evidence.get(v) if v in fired else firings[v]["numbers"]) for v in villages}
    numbers = {v: n or {} for v, n in numbers.items()}
    added = sorted(set(villages) - set(w["village_codes"]))
    removed = sorted(set(w["village_codes"]) - set(villages))
    upstream = _upstream(conn, p, villages, at)
    details |= _flags(upstream)
    if cover:
        _audit_trim(conn, wid, w["current_version"], p, cover, at, actor)
    msg_type = current["msg_type"] if current["state"] == "draft" else "Update"
    content = _content(p, villages, numbers, msg_type, actor, upstream)
    if p.rank == rank and not added and not removed:
        change = _extend(conn, w, current, p, content, at, actor, details)
        return _keep_published(conn, w, change, villages, content["expires"], hold, at, actor)
    action: Action = (
        "escalate" if p.rank > rank else "deescalate" if p.rank < rank
        else "update" if added else "trim"
    )  # fmt: skip
    details |= {"from": w["colour"], "to": p.colour, "added": added, "removed": removed}
    # a level change or a grown area waits for review unless the rule is auto; villages leaving
    # by time is the clock's rule, like expiry: published at once, to the CAP feed
    only_trim = action == "trim"
    publish = p.review == "auto" or (only_trim and current["state"] == "published")
    change = revise(
        conn, w, current, content, at, actor, None, action, details, publish=publish,
        announce=not only_trim,
    )  # fmt: skip
    store.update_warning(conn, wid, review=p.review)
    return _keep_published(conn, w, change, villages, content["expires"], hold, at, actor)


def _keep_published(
    conn: psycopg.Connection,
    w: dict[str, Any],
    change: Change,
    villages: list[str],
    expires: datetime,
    hold: timedelta,
    at: datetime,
    actor: str,
) -> Change:
    """Keep an issued warning's public alert in force while its rule fires, whatever the
    review queue holds.

    The warning's expiry is the ``<expires>`` of its published version (migration 0026), not of
    a pending draft's, so refreshing only the draft of an update awaiting review (say orange to
    red) would let the published alert run out during the storm and the expiry step broadcast
    its all-clear (解除) while the danger grows. So once the published version has less than half
    the hold time left (the threshold of :func:`_extend`) its content goes out again as an
    ``Update`` with the rule's new expiry, to the CAP feed only like any extension, and the
    pending draft stays pending on top of it.

    Published versions never change and versions are numbered in order, so the draft cannot
    stay below the extension: it is discarded (kept in the history), the extension is published
    as the next version, and the draft's content is saved again, unchanged (a forecaster's words,
    its author and its reason kept), as the version after that; issuing it later references the
    extension too. The audit says which version moved where. Only when the rule still fires for
    some of the published villages (now or within the hold time): the published area is what
    the extension repeats, and it must not outlive the event that put it there.
    """
    wid = w["id"]
    w = store.lock_warning(conn, wid)  # re-read: the step before moved its pointers
    if w["status"] != "issued" or w["current_version"] == w["published_version"]:
        return change
    published = store.get_version(conn, wid, w["published_version"])
    if published["expires"] - at > hold / 2 or expires <= published["expires"]:
        return change
    if not set(published["village_codes"]) & set(villages):
        return change
    draft = store.get_version(conn, wid, w["current_version"])
    drop_draft(conn, w)
    extension = store.next_version(conn, wid)
    moved = extension + 1
    reason = "rule fired again while an update awaits review: the published version is extended"
    details = why(w) | {
        "decision": "extend published under pending draft",
        "published_version": published["version"],
        "extension_version": extension,
        "draft_from": draft["version"],
        "draft_to": moved,
        "expires": expires.isoformat(),
    }
    store.audit(conn, wid, draft["version"], "extend", actor, at, reason, details)
    w = store.lock_warning(conn, wid)
    revise(
        conn, w, published, content_of(published) | {"expires": expires}, at, actor, reason,
        "extend", details, True, announce=False,
    )  # fmt: skip
    store.save_version(conn, wid, moved, content_of(draft))
    store.update_warning(
        conn, wid, colour=draft["colour"], action=draft["action"], current_version=moved
    )
    if sorted(draft["village_codes"]) != sorted(published["village_codes"]):
        store.set_area(conn, wid, draft["village_codes"])
    store.audit(
        conn, wid, moved, "extend", actor, at, "the pending draft awaits review on top of the"
        f" extension (version {extension}), unchanged", why(w) | details,
    )  # fmt: skip
    return Change(wid, change.action, moved, "issued", draft["colour"], True)


def _extend(
    conn: psycopg.Connection,
    w: dict[str, Any],
    current: dict[str, Any],
    p: Proposal,
    content: dict[str, Any],
    at: datetime,
    actor: str,
    details: dict[str, Any],
) -> Change:
    """Same level over the same area. A draft (a candidate, or an update awaiting review) is
    refreshed in place: new numbers, texts and expiry (a person's text edits are kept). An issued
    warning keeps its published version (the village's latest numbers are kept in
    ``warning_village``) until less than half the hold time is left; then an ``Update`` with the
    fresh numbers and a later expiry goes to the CAP feed (consumers keep the alert in force;
    loudspeakers and phones are not asked to repeat themselves). A pending draft's published
    version is extended by :func:`_keep_published` after this step."""
    hold = timedelta(hours=p.hold_hours)
    reason = "rule fired again at the same level over the same area"
    if current["state"] == "draft":
        if current["created_by"] != actor:  # a forecaster worded it: keep their words
            content |= {k: current[k] for k in TEXT_FIELDS}
        details["expires"] = content["expires"].isoformat()
        return revise(conn, w, current, content, at, actor, reason, "extend", details, False)
    if current["expires"] - at > hold / 2:
        details |= {"expires_at": current["expires"].isoformat(), "numbers_refreshed": True}
        store.audit(conn, w["id"], w["current_version"], "extend", actor, at, reason, details)
        return change_of(w, "extend", w["current_version"], w["status"], False)
    details["expires"] = content["expires"].isoformat()
    return revise(
        conn, w, current, content, at, actor, reason, "extend", details, True, announce=False
    )


def _suppress_open(
    conn: psycopg.Connection,
    w: dict[str, Any],
    current: dict[str, Any],
    p: Proposal,
    cover: list[dict[str, Any]],
    at: datetime,
    actor: str,
    *,
    ended: bool,
) -> Change:
    """The proposal fired only for villages higher issued warnings cover: nothing is extended,
    grown or re-levelled (audit ``suppress``). A candidate left with no village (``ended``)
    ends; an issued warning stays as published until its expiry."""
    covered = {v for r in cover for v in r["covered"]}
    details = _details(p) | {"decision": "suppress"} | _yielded(cover, covered)
    reason = "every village is under an issued warning of the same hazard at this level or higher"
    wid, v = w["id"], w["current_version"]
    if ended and w["status"] == "candidate":
        store.discard_version(conn, wid, v)
        store.update_warning(conn, wid, status="expired", ended_at=at)
        store.audit(conn, wid, v, "suppress", actor, at, reason, details)
        return change_of(w, "suppress", v, "expired", False)
    store.audit(conn, wid, v, "suppress", actor, at, reason, details)
    return change_of(w, "suppress", v, w["status"], False)
