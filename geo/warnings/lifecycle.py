"""The warning lifecycle: candidate → issued → updated → cancelled or expired, or rejected.

Rules hand over :class:`~geo.warnings.proposal.Proposal` objects; :func:`apply_proposals` turns
them into new warnings or changes to open ones, :func:`expire_stale` ends warnings whose rule has
stopped firing, and forecasters and commanders act through :func:`issue`, :func:`reject`,
:func:`edit_text`, :func:`escalate` and :func:`cancel`. Each function does its work in one
transaction, appends to the audit log, and writes the outbox rows of whatever it publishes.

Decisions
---------
- A **version is a draft until published**; drafts change in place, published versions never do
  (a trigger refuses). A candidate is a warning whose version 1 is a draft: rule changes and
  forecaster edits rewrite it, and it goes out as one CAP ``Alert`` when issued.
- Once issued, a change of level (escalate / de-escalate) or a grown area is a **new version**
  (CAP ``Update`` referencing every earlier published version). If the rule's review policy is
  ``auto`` it is published at once with its outbox rows (people must hear that a flash flood
  became "evacuate now" without waiting for a desk); otherwise it waits as a draft for a
  forecaster, and the public keeps the published version until :func:`issue` or :func:`reject`.
- The **same level over the same or a smaller area extends** the warning (``last_fired_at`` and
  ``expires_at`` move, audit ``extend``) and sends nothing. The area never shrinks while the
  warning is open: villages that stop firing stay warned until the whole warning expires.
- Proposals of one rule and hazard that overlap the same open warning are **merged** first: the
  highest level wins, the areas unite, each village keeps the numbers of its highest proposal.
- A forecaster's text edit or manual level change of an issued warning is published at once as
  an ``Update`` (the forecaster is the reviewer); on a candidate it edits the draft.
- Expiry of an issued warning publishes an all-clear (``Cancel``, responseType ``AllClear``,
  解除…) with outbox rows; a candidate that stops firing just expires.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import psycopg

from riskmap.geo.errors import InvalidArgumentError
from riskmap.geo.warnings import cap, delivery, store, texts
from riskmap.geo.warnings.proposal import COLOURS, Proposal

Action = Literal[
    "propose", "issue", "update", "extend", "escalate", "deescalate", "reject", "cancel",
    "expire", "edit",
]  # fmt: skip
OPEN = ("candidate", "issued")
TEXT_FIELDS = (
    "event_zh", "event_en", "headline_zh", "headline_en", "description_zh", "description_en",
    "instruction_zh", "instruction_en",
)  # fmt: skip
CONTENT_FIELDS = (
    "msg_type", "colour", "action", "village_codes", *TEXT_FIELDS, "category", "urgency",
    "severity", "certainty", "response_type", "effective", "expires", "evidence",
)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Change:
    """What one lifecycle step did to one warning."""

    warning_id: int
    action: Action
    version: int
    status: str
    colour: str
    published: bool  # whether this step sent a version to the public (outbox rows written)


# --------------------------------------------------------------------------- rules → warnings


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
    _check_time(at)
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


def expire_stale(conn: psycopg.Connection, at: datetime) -> list[Change]:
    """End the warnings whose rule has not fired for their hold time.

    Issued warnings get an all-clear version (CAP ``Cancel``, responseType ``AllClear``) sent
    to the same villages and people; candidates are just marked expired.
    """
    _check_time(at)
    changes: list[Change] = []
    with conn.transaction():
        for w in store.stale_warnings(conn, at):
            reason = f"rule {w['rule_id']} has not fired for {w['hold_hours']:g} h"
            if w["status"] == "candidate":
                store.discard_version(conn, w["id"], w["current_version"])
                store.update_warning(conn, w["id"], status="expired", ended_at=at)
                store.audit(
                    conn, w["id"], w["current_version"], "expire", "system", at, reason, _why(w)
                )
                changes.append(_change(w, "expire", w["current_version"], "expired", False))
            else:
                v = _end_published(conn, w, at, "system", reason, "expire", "expired")
                changes.append(_change(w, "expire", v, "expired", True))
    return changes


# --------------------------------------------------------------------------- people's actions


def issue(
    conn: psycopg.Connection,
    warning_id: int,
    actor: str,
    reason: str | None = None,
    *,
    at: datetime | None = None,
) -> Change:
    """Publish what awaits review: a candidate (as the CAP Alert) or an issued warning's
    pending update; writes the outbox rows in the same transaction."""
    at = _now(at)
    with conn.transaction():
        w = store.lock_warning(conn, warning_id)
        if w["status"] not in OPEN or w["current_version"] == w["published_version"]:
            raise InvalidArgumentError(
                f"warning {warning_id} is {w['status']} with nothing awaiting issue"
            )
        v = w["current_version"]
        _publish(conn, w, v, at, actor, "issue", reason, "issued")
    return _change(w, "issue", v, "issued", True)


def reject(
    conn: psycopg.Connection,
    warning_id: int,
    actor: str,
    reason: str | None = None,
    *,
    at: datetime | None = None,
) -> Change:
    """Reject a candidate (it ends, nothing is sent) or an issued warning's pending update (the
    published version stays in force)."""
    at = _now(at)
    with conn.transaction():
        w = store.lock_warning(conn, warning_id)
        v = w["current_version"]
        if w["status"] == "candidate":
            store.discard_version(conn, warning_id, v)
            store.update_warning(conn, warning_id, status="rejected", ended_at=at)
            store.audit(conn, warning_id, v, "reject", actor, at, reason, _why(w))
            return _change(w, "reject", v, "rejected", False)
        if w["status"] == "issued" and v != w["published_version"]:
            _drop_draft(conn, w)
            store.audit(conn, warning_id, v, "reject", actor, at, reason, _why(w))
            return _change(w, "reject", w["published_version"], "issued", False)
    raise InvalidArgumentError(f"warning {warning_id} is {w['status']} with nothing to reject")


def edit_text(
    conn: psycopg.Connection,
    warning_id: int,
    actor: str,
    reason: str | None = None,
    *,
    at: datetime | None = None,
    **changes: str,
) -> Change:
    """Change the wording (any of ``event_zh`` … ``instruction_en``).

    A draft (candidate or pending update) is edited in place; an issued warning gets a new
    version published at once as a CAP Update (a correction must reach everyone).
    """
    at = _now(at)
    unknown = sorted(set(changes) - set(TEXT_FIELDS))
    if unknown or not changes:
        raise InvalidArgumentError(f"edit one or more of {', '.join(TEXT_FIELDS)}; got {unknown}")
    with conn.transaction():
        w = _lock_open(conn, warning_id)
        current = store.get_version(conn, warning_id, w["current_version"])
        content = _content_of(current) | changes
        before = {k: current[k] for k in changes}
        return _revise(conn, w, current, content, at, actor, reason, "edit", {"before": before})


def escalate(
    conn: psycopg.Connection,
    warning_id: int,
    colour: str,
    actor: str,
    reason: str | None = None,
    *,
    at: datetime | None = None,
) -> Change:
    """Set the level by hand (up or down); texts and CAP severity follow the colour.

    Candidates change in place; an issued warning gets a CAP Update published at once.
    """
    at = _now(at)
    if colour not in COLOURS:
        raise InvalidArgumentError(f"colour must be one of {', '.join(COLOURS)}, got {colour!r}")
    with conn.transaction():
        w = _lock_open(conn, warning_id)
        old = w["colour"]
        if colour == old:
            raise InvalidArgumentError(f"warning {warning_id} is already {colour}")
        current = store.get_version(conn, warning_id, w["current_version"])
        content = _content_of(current)
        content |= {k: texts.recolour(content[k], old, colour) for k in TEXT_FIELDS}
        content |= {"colour": colour, "severity": cap.SEVERITY_OF_COLOUR[colour]}
        action = "escalate" if COLOURS.index(colour) > COLOURS.index(old) else "deescalate"
        details = {"from": old, "to": colour}
        return _revise(conn, w, current, content, at, actor, reason, action, details)


def cancel(
    conn: psycopg.Connection,
    warning_id: int,
    actor: str,
    reason: str | None = None,
    *,
    at: datetime | None = None,
) -> Change:
    """Withdraw an issued warning: a CAP Cancel (撤销…) to everyone the warning reached."""
    at = _now(at)
    with conn.transaction():
        w = store.lock_warning(conn, warning_id)
        if w["status"] != "issued":
            hint = "; reject a candidate instead" if w["status"] == "candidate" else ""
            raise InvalidArgumentError(f"only issued warnings can be cancelled{hint}")
        v = _end_published(conn, w, at, actor, reason, "cancel", "cancelled")
    return _change(w, "cancel", v, "cancelled", True)


def get_warning(conn: psycopg.Connection, warning_id: int) -> dict[str, Any]:
    """The warning row with ``geometry`` (GeoJSON), its ``versions`` and its ``audit`` trail."""
    return store.read_warning(conn, warning_id)


# --------------------------------------------------------------------------- helpers


def _check_time(at: datetime) -> None:
    if at.tzinfo is None:
        raise InvalidArgumentError("times must be timezone-aware (store UTC)")


def _now(at: datetime | None) -> datetime:
    at = at or datetime.now(UTC)
    _check_time(at)
    return at


def _check_proposal(p: Proposal) -> None:
    _check_time(p.at)
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


def _why(w: dict[str, Any], version: dict[str, Any] | None = None) -> dict[str, Any]:
    out = {"rule_id": w["rule_id"], "rule_version": w["rule_version"], "colour": w["colour"]}
    if version is not None:
        out["numbers"] = version["evidence"].get("villages", {})
    return out


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


def _content_of(version: dict[str, Any]) -> dict[str, Any]:
    return {k: version[k] for k in (*CONTENT_FIELDS, "created_by", "reason")}


def _change(w: dict[str, Any], action: Action, version: int, status: str, sent: bool) -> Change:
    return Change(w["id"], action, version, status, w["colour"], sent)


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
        return _change(w, "propose", 1, "candidate", False)
    _publish(
        conn, w, 1, at, actor, "issue", "auto-issued: the rule's review policy is auto", "issued"
    )
    return _change(w, "issue", 1, "issued", True)


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
        return _change(w, "extend", w["current_version"], w["status"], False)
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
    change = _revise(conn, w, current, content, at, actor, None, action, details, publish=auto)
    store.update_warning(conn, wid, review=p.review)
    return change


def _revise(
    conn: psycopg.Connection,
    w: dict[str, Any],
    current: dict[str, Any],
    content: dict[str, Any],
    at: datetime,
    actor: str,
    reason: str | None,
    action: Action,
    details: dict[str, Any],
    publish: bool | None = None,
) -> Change:
    """Write new content: in place over a draft, else as a new Update version; publish it when
    asked (default: when it replaced a published version, i.e. a person changed what is out)."""
    wid = w["id"]
    if current["state"] == "draft":
        version = current["version"]
    else:
        version = store.next_version(conn, wid)
        expires = max(content["expires"], w["expires_at"])
        if expires <= at:
            expires = at + timedelta(hours=w["hold_hours"])
        content = content | {"msg_type": "Update", "effective": at, "expires": expires}
    content = content | {"created_by": actor, "reason": reason or content["reason"]}
    reason = content["reason"]
    store.save_version(conn, wid, version, content)
    store.update_warning(
        conn, wid, colour=content["colour"], action=content["action"], current_version=version
    )
    if sorted(content["village_codes"]) != sorted(w["village_codes"]):
        store.set_area(conn, wid, content["village_codes"])
    store.audit(conn, wid, version, action, actor, at, reason, _why(w) | details)
    if publish is None:
        publish = w["status"] == "issued" and current["state"] != "draft"
    status = "issued" if publish else w["status"]
    if publish:
        _publish(conn, w, version, at, actor, "issue", reason, "issued")
    return Change(wid, action, version, status, content["colour"], publish)


def _publish(
    conn: psycopg.Connection,
    w: dict[str, Any],
    version: int,
    at: datetime,
    actor: str,
    action: Action,
    reason: str | None,
    status: str,
) -> dict[str, Any]:
    """Publish a draft: CAP identifier and references, warning status, outbox rows, audit."""
    wid = w["id"]
    w = store.lock_warning(conn, wid)  # re-read: callers may have changed it in this transaction
    draft = store.get_version(conn, wid, version)
    county, county_name = store.county_of(conn, draft["village_codes"])
    row = store.publish_version(conn, wid, version, county, at)
    ended = at if status in ("cancelled", "expired") else None
    store.update_warning(
        conn, wid, status=status, published_version=version, current_version=version, ended_at=ended
    )
    n = delivery.write_outbox(conn, w, row, county_name)
    details = _why(w, row) | {
        "cap_identifier": row["cap_identifier"],
        "msg_type": row["msg_type"],
        "references": row["references_text"],
        "outbox_rows": n,
    }
    store.audit(conn, wid, version, action, actor, at, reason, details)
    return row


def _drop_draft(conn: psycopg.Connection, w: dict[str, Any]) -> dict[str, Any]:
    """Discard an issued warning's pending draft; the warning reverts to its published version."""
    wid = w["id"]
    store.discard_version(conn, wid, w["current_version"])
    base = store.get_version(conn, wid, w["published_version"])
    store.update_warning(
        conn, wid, colour=base["colour"], action=base["action"], current_version=base["version"]
    )
    if sorted(base["village_codes"]) != sorted(w["village_codes"]):
        store.set_area(conn, wid, base["village_codes"])
    return base


def _end_published(
    conn: psycopg.Connection,
    w: dict[str, Any],
    at: datetime,
    actor: str,
    reason: str | None,
    action: Action,
    status: str,
) -> int:
    """Publish the message that ends an issued warning (expired: 解除, cancelled: 撤销)."""
    wid = w["id"]
    if w["current_version"] != w["published_version"]:
        base = _drop_draft(conn, w)
    else:
        base = store.get_version(conn, wid, w["published_version"])
    version = store.next_version(conn, wid)
    ending = texts.all_clear(
        base["event_zh"], base["event_en"], base["colour"], cancelled=status == "cancelled"
    )
    content = (
        _content_of(base)
        | ending
        | {
            "msg_type": "Cancel",
            "urgency": "Past",
            "severity": "Minor",
            "certainty": "Observed",
            "response_type": "AllClear",
            "effective": at,
            "expires": at + timedelta(hours=w["hold_hours"]),
            "created_by": actor,
            "reason": reason,
        }
    )
    store.save_version(conn, wid, version, content)
    store.update_warning(conn, wid, current_version=version)
    _publish(conn, w, version, at, actor, action, reason, status)
    return version


def _lock_open(conn: psycopg.Connection, warning_id: int) -> dict[str, Any]:
    w = store.lock_warning(conn, warning_id)
    if w["status"] not in OPEN:
        raise InvalidArgumentError(
            f"warning {warning_id} is {w['status']} and can no longer change"
        )
    return w
