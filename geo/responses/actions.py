"""What a commander does to a response: start, raise, lower, end; accept or dismiss a proposal.

Each action checks the response's state (a state that does not allow it raises
:class:`~riskmap.geo.errors.ConflictError`, HTTP 409), acts in one transaction, writes the
timeline with the actor and reason, and (start, raise) makes, assigns and notifies the new
level's tasks. Lowering cancels the unfinished tasks of the levels dropped; ending cancels all.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import psycopg

from riskmap.geo.errors import ConflictError, InvalidArgumentError, NotFoundError
from riskmap.geo.responses.store import SQL, event, roman
from riskmap.geo.responses.tasks import create_tasks

if TYPE_CHECKING:
    from riskmap.geo.plans.load import CompiledPlan


def _lock(conn: psycopg.Connection, response_id: int) -> dict[str, Any]:
    row = SQL.one(conn, "lock_response.sql", {"id": response_id})
    if row is None:
        raise NotFoundError(f"no response {response_id}")
    return row


def _plan(plans: Sequence[CompiledPlan], plan_id: str) -> CompiledPlan:
    for p in plans:
        if p.id == plan_id:
            return p
    raise ConflictError(f"plan {plan_id!r} is no longer loaded: its tasks cannot be made")


def _check_level(level: int) -> None:
    if level not in (1, 2, 3, 4):
        raise InvalidArgumentError(f"level must be 1 (Ⅰ) … 4 (Ⅳ), got {level!r}")


def _set(conn, r, status, level, at, actor=None, ended=False) -> dict[str, Any]:
    return SQL.one(
        conn,
        "update_response.sql",
        {
            "id": r["id"],
            "status": status,
            "level": level,
            "started_at": at if status == "active" else None,
            "started_by": actor if status == "active" else None,
            "ended_at": at if ended else None,
        },
    )


def _settle_pending(conn, r, status: str, actor: str, at: datetime, reason: str | None) -> None:
    pending = SQL.one(conn, "pending_proposal.sql", r)
    if pending is not None:
        params = {"id": pending["id"], "status": status, "actor": actor, "at": at}
        SQL.one(conn, "decide_proposal.sql", {**params, "reason": reason})


def _county_name(conn: psycopg.Connection, code: str) -> str:
    row = SQL.one(conn, "county_name.sql", {"code": code}, shape="tuple")
    return row[0] if row else code


def start(
    conn: psycopg.Connection,
    plans: Sequence[CompiledPlan],
    response_id: int,
    level: int,
    actor: str,
    reason: str,
    *,
    at: datetime,
) -> dict[str, Any]:
    """Start a proposed response at ``level`` (1 = Ⅰ … 4 = Ⅳ): its tasks go out."""
    _check_level(level)
    with conn.transaction():
        r = _lock(conn, response_id)
        if r["status"] != "proposed":
            raise ConflictError(
                f"response {response_id} is {r['status']}: only a proposed one starts"
            )
        plan = _plan(plans, r["plan_id"])
        _settle_pending(conn, r, "accepted", actor, at, reason)
        r = _set(conn, r, "active", level, at, actor)
        event(conn, response_id, "started", actor, at, level_to=level, reason=reason)
        create_tasks(conn, r, plan, level, at, actor, _county_name(conn, r["county_code"]))
    return r


def change_level(
    conn: psycopg.Connection,
    plans: Sequence[CompiledPlan],
    response_id: int,
    level: int,
    actor: str,
    reason: str,
    *,
    at: datetime,
) -> dict[str, Any]:
    """Raise (a smaller number) or lower an active response. Raising starts the new levels'
    tasks; lowering cancels the unfinished tasks of the levels above ``level``."""
    _check_level(level)
    with conn.transaction():
        r = _lock(conn, response_id)
        if r["status"] != "active":
            raise ConflictError(f"response {response_id} is {r['status']}, not active")
        if level == r["level"]:
            raise ConflictError(f"response {response_id} is at level {roman(level)} already")
        old = r["level"]
        raising = level < old
        if raising:
            _settle_pending(conn, r, "accepted", actor, at, reason)
        r = _set(conn, r, "active", level, at, actor)
        kind = "raised" if raising else "lowered"
        event(conn, response_id, kind, actor, at, level_from=old, level_to=level, reason=reason)
        if raising:
            plan = _plan(plans, r["plan_id"])
            create_tasks(conn, r, plan, level, at, actor, _county_name(conn, r["county_code"]))
        else:
            _cancel(conn, response_id, level, actor, at)
    return r


def end(
    conn: psycopg.Connection, response_id: int, actor: str, reason: str, *, at: datetime
) -> dict[str, Any]:
    """End an active response (解除): its unfinished tasks are cancelled."""
    with conn.transaction():
        r = _lock(conn, response_id)
        if r["status"] != "active":
            raise ConflictError(f"response {response_id} is {r['status']}, not active")
        _settle_pending(conn, r, "dismissed", actor, at, "the response ended")
        r = _set(conn, r, "ended", r["level"], at, actor, ended=True)
        event(conn, response_id, "ended", actor, at, level_from=r["level"], reason=reason)
        _cancel(conn, response_id, 5, actor, at)
    return r


def accept(
    conn: psycopg.Connection,
    plans: Sequence[CompiledPlan],
    response_id: int,
    proposal_id: int,
    actor: str,
    reason: str,
    *,
    at: datetime,
) -> dict[str, Any]:
    """Accept the pending proposal: start the response, or raise it, at the proposed level."""
    p = _pending(conn, response_id, proposal_id)
    if p["kind"] == "start":
        return start(conn, plans, response_id, p["level"], actor, reason, at=at)
    return change_level(conn, plans, response_id, p["level"], actor, reason, at=at)


def dismiss(
    conn: psycopg.Connection,
    response_id: int,
    proposal_id: int,
    actor: str,
    reason: str,
    *,
    at: datetime,
) -> dict[str, Any]:
    """Dismiss the pending proposal; a dismissed start leaves the response ``dismissed``."""
    with conn.transaction():
        r = _lock(conn, response_id)
        p = _pending(conn, response_id, proposal_id)
        _settle_pending(conn, r, "dismissed", actor, at, reason)
        event(conn, response_id, "proposal_dismissed", actor, at, level_to=p["level"],
              proposal_id=proposal_id, reason=reason)  # fmt: skip
        if r["status"] == "proposed":
            r = _set(conn, r, "dismissed", None, at, actor, ended=True)
            event(conn, response_id, "dismissed", actor, at, reason=reason)
    return r


def _pending(conn: psycopg.Connection, response_id: int, proposal_id: int) -> dict[str, Any]:
    p = SQL.one(conn, "pending_proposal.sql", {"id": response_id})
    if p is None or p["id"] != proposal_id:
        raise ConflictError(
            f"proposal {proposal_id} of response {response_id} is not pending"
            " (accepted, dismissed or superseded by a higher level already)"
        )
    return p


def _cancel(conn, response_id: int, keep: int, actor: str, at: datetime) -> None:
    for (task_id,) in SQL.rows(
        conn, "cancel_tasks.sql", {"id": response_id, "keep": keep}, shape="tuple"
    ):
        event(conn, response_id, "task_cancelled", actor, at, task_id=task_id)
