"""Review actions on a warning: issue, reject, edit, escalate, cancel (``/api/warnings/{id}/…``).

Each calls one step of :mod:`riskmap.geo.warnings.lifecycle` in one transaction, with the user's
name and reason in the audit log; a state that does not allow the action is 409 (e.g. cancelling
a candidate), bad input is 422. Forecasters review; cancelling needs the ``cancel`` permission.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from riskmap.api.auth import Principal, require
from riskmap.api.deps import Connection
from riskmap.api.routers.warnings import WarningId
from riskmap.geo.errors import InvalidArgumentError
from riskmap.geo.warnings import lifecycle

router = APIRouter(prefix="/api", tags=["warnings"])


class Reason(BaseModel):
    """Why (kept in the audit log with the user's name)."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000)


class Escalation(Reason):
    colour: Literal["blue", "yellow", "orange", "red"]


class TextEdit(Reason):
    event_zh: str | None = Field(None, min_length=1, max_length=200)
    event_en: str | None = Field(None, max_length=200)
    headline_zh: str | None = Field(None, min_length=1, max_length=500)
    headline_en: str | None = Field(None, max_length=500)
    description_zh: str | None = Field(None, max_length=10000)
    description_en: str | None = Field(None, max_length=10000)
    instruction_zh: str | None = Field(None, max_length=10000)
    instruction_en: str | None = Field(None, max_length=10000)


class ActionResult(BaseModel):
    warning_id: int
    action: str
    version: int
    status: str
    colour: str
    published: bool
    actor: str


def _act(conn: Connection, principal: Principal, step, *args, **kw) -> ActionResult:
    """Run one lifecycle step; an action the warning's state does not allow is 409."""
    try:
        change = step(conn, *args, actor=principal.name, **kw)
    except InvalidArgumentError as exc:
        conn.rollback()
        raise HTTPException(409, str(exc)) from None
    conn.commit()
    return ActionResult(**dataclasses.asdict(change), actor=principal.name)


ReviewPrincipal = Annotated[Principal, Depends(require("review", write=True))]
CancelPrincipal = Annotated[Principal, Depends(require("cancel", write=True))]


@router.post("/warnings/{warning_id}/issue", response_model=ActionResult, summary="Approve")
def issue(
    conn: Connection, warning_id: WarningId, body: Reason, who: ReviewPrincipal
) -> ActionResult:
    """Publish a candidate (CAP Alert) or an issued warning's pending update."""
    return _act(conn, who, lifecycle.issue, warning_id, reason=body.reason)


@router.post("/warnings/{warning_id}/reject", response_model=ActionResult, summary="Reject")
def reject(
    conn: Connection, warning_id: WarningId, body: Reason, who: ReviewPrincipal
) -> ActionResult:
    """Reject a candidate (nothing is sent) or an issued warning's pending update."""
    return _act(conn, who, lifecycle.reject, warning_id, reason=body.reason)


@router.post("/warnings/{warning_id}/edit", response_model=ActionResult, summary="Edit texts")
def edit(
    conn: Connection, warning_id: WarningId, body: TextEdit, who: ReviewPrincipal
) -> ActionResult:
    """Change the wording: a draft in place, an issued warning by a CAP Update sent at once."""
    fields = body.model_dump(exclude={"reason"}, exclude_none=True)
    if not fields:
        raise HTTPException(422, "give at least one text field to change")
    return _act(conn, who, lifecycle.edit_text, warning_id, reason=body.reason, **fields)


@router.post(
    "/warnings/{warning_id}/escalate", response_model=ActionResult, summary="Change the level"
)
def escalate(
    conn: Connection, warning_id: WarningId, body: Escalation, who: ReviewPrincipal
) -> ActionResult:
    """Set the colour (up or down); an issued warning sends a CAP Update at once."""
    return _act(conn, who, lifecycle.escalate, warning_id, body.colour, reason=body.reason)


@router.post("/warnings/{warning_id}/cancel", response_model=ActionResult, summary="Cancel")
def cancel(
    conn: Connection, warning_id: WarningId, body: Reason, who: CancelPrincipal
) -> ActionResult:
    """Withdraw an issued warning: a CAP Cancel (撤销) to everyone it reached."""
    return _act(conn, who, lifecycle.cancel, warning_id, reason=body.reason)
