"""What forecasters and commanders do to a warning: issue, reject, edit, change level, cancel.

These are the people's side of the lifecycle (the API's review endpoints call them); each checks
the warning's state, acts in one transaction and reports the step as a :class:`Change`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg

from riskmap.geo.errors import InvalidArgumentError
from riskmap.geo.vocabulary import COLOURS
from riskmap.geo.warnings import cap, store, texts
from riskmap.geo.warnings.lifecycle.versions import (
    TEXT_FIELDS,
    Change,
    change_of,
    check_time,
    content_of,
    drop_draft,
    end_published,
    publish_draft,
    revise,
    why,
)

OPEN = ("candidate", "issued")


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
        publish_draft(conn, w, v, at, actor, "issue", reason, "issued")
    return change_of(w, "issue", v, "issued", True)


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
            store.audit(conn, warning_id, v, "reject", actor, at, reason, why(w))
            return change_of(w, "reject", v, "rejected", False)
        if w["status"] == "issued" and v != w["published_version"]:
            drop_draft(conn, w)
            store.audit(conn, warning_id, v, "reject", actor, at, reason, why(w))
            return change_of(w, "reject", w["published_version"], "issued", False)
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
        content = content_of(current) | changes
        before = {k: current[k] for k in changes}
        return revise(conn, w, current, content, at, actor, reason, "edit", {"before": before})


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
        content = content_of(current)
        content |= {k: texts.recolour(content[k], old, colour) for k in TEXT_FIELDS}
        content |= {"colour": colour, "severity": cap.SEVERITY_OF_COLOUR[colour]}
        action = "escalate" if COLOURS.index(colour) > COLOURS.index(old) else "deescalate"
        details = {"from": old, "to": colour}
        return revise(conn, w, current, content, at, actor, reason, action, details)


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
        v = end_published(conn, w, at, actor, reason, "cancel", "cancelled")
    return change_of(w, "cancel", v, "cancelled", True)


def get_warning(conn: psycopg.Connection, warning_id: int) -> dict[str, Any]:
    """The warning row with ``geometry`` (GeoJSON), its ``versions`` and its ``audit`` trail."""
    return store.read_warning(conn, warning_id)


def _now(at: datetime | None) -> datetime:
    at = at or datetime.now(UTC)
    check_time(at)
    return at


def _lock_open(conn: psycopg.Connection, warning_id: int) -> dict[str, Any]:
    w = store.lock_warning(conn, warning_id)
    if w["status"] not in OPEN:
        raise InvalidArgumentError(
            f"warning {warning_id} is {w['status']} and can no longer change"
        )
    return w
