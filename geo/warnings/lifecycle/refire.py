"""The rule fired again over an open warning: extend, escalate, de-escalate, grow or shrink it,
and keep an issued warning's public alert in force while its rule fires (also while an update
waits for review).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import psycopg

from riskmap.geo.vocabulary import COLOURS
from riskmap.geo.warnings import store
from riskmap.geo.warnings.lifecycle.content import (
    audit_trim,
    details_of,
    proposal_content,
    upstream_flags,
    upstream_signals,
    yielded,
)
from riskmap.geo.warnings.lifecycle.versions import (
    TEXT_FIELDS,
    Action,
    Change,
    change_of,
    content_of,
    drop_draft,
    revise,
    why,
)
from riskmap.geo.warnings.proposal import Proposal


def refire(
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
    details = details_of(p)
    if not villages or not fired:  # nothing fired here that a higher warning does not cover
        return _suppress_open(conn, w, current, p, cover, at, actor, ended=not villages)
    numbers = {v: (p.evidence.get(v) if v in fired else firings[v]["numbers"]) for v in villages}
    numbers = {v: n or {} for v, n in numbers.items()}
    added = sorted(set(villages) - set(w["village_codes"]))
    removed = sorted(set(w["village_codes"]) - set(villages))
    upstream = upstream_signals(conn, p, villages, at)
    details |= upstream_flags(upstream)
    if cover:
        audit_trim(conn, wid, w["current_version"], p, cover, at, actor)
    msg_type = current["msg_type"] if current["state"] == "draft" else "Update"
    content = proposal_content(p, villages, numbers, msg_type, actor, upstream)
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
    details = details_of(p) | {"decision": "suppress"} | yielded(cover, covered)
    reason = "every village is under an issued warning of the same hazard at this level or higher"
    wid, v = w["id"], w["current_version"]
    if ended and w["status"] == "candidate":
        store.discard_version(conn, wid, v)
        store.update_warning(conn, wid, status="expired", ended_at=at)
        store.audit(conn, wid, v, "suppress", actor, at, reason, details)
        return change_of(w, "suppress", v, "expired", False)
    store.audit(conn, wid, v, "suppress", actor, at, reason, details)
    return change_of(w, "suppress", v, w["status"], False)
