"""Emergency responses (应急响应): ``/api/responses`` — list, detail, a commander's actions and
task updates.

Responses are the bureau's internal business: reading needs a token (``read``); starting,
raising, lowering, ending and deciding proposals need ``respond`` (commanders); acknowledging
or finishing a task needs ``task`` (duty staff). A user bound to an area sees and acts on the
responses of its counties only (403 naming the area otherwise). A state that does not allow the
action is 409. Every change is on the response's timeline and a ``response`` live event.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from riskmap.api.areas import outside, scope, within
from riskmap.api.auth import Principal, Reader, require
from riskmap.api.deps import Connection
from riskmap.api.openapi import described
from riskmap.geo.responses import actions, get_response, list_responses, update_task
from riskmap.geo.responses.store import roman

if TYPE_CHECKING:
    from riskmap.geo.plans.load import CompiledPlan

router = APIRouter(prefix="/api/responses", tags=["responses"])
ResponseId = Annotated[int, Path(ge=1, le=2**62, description="response id")]
Level = Annotated[int, Field(ge=1, le=4, description="response level: 1 = Ⅰ (highest) … 4 = Ⅳ")]
Commander = Annotated[Principal, Depends(require("respond", write=True))]
TaskWorker = Annotated[Principal, Depends(require("task", write=True))]
STATUSES = ("proposed", "active", "ended", "dismissed")
STATE = described(409)  # a response or task whose state does not allow the action


class Proposal(BaseModel):
    id: int
    kind: Literal["start", "raise"] = Field(description="start a response, or raise it")
    level: int = Field(description="proposed level, 1 = Ⅰ … 4 = Ⅳ")
    at: datetime = Field(description="when the plan's condition held")
    condition: str | None = Field(None, description="the plan's condition that held")
    variables: dict[str, float] | None = Field(None, description="county variables it read")
    status: str = Field("pending", description="pending, accepted, dismissed or superseded")
    decided_by: str | None = None
    decided_at: datetime | None = None
    reason: str | None = None


class Task(BaseModel):
    id: int
    level: int = Field(description="the level that started it (1 = Ⅰ … 4 = Ⅳ)")
    who: str = Field(description="the plan's assignee: county.chief, township.leader, …")
    office_code: str | None = Field(description="the county or township it is for")
    office_name: str | None
    text_zh: str
    text_en: str
    person_id: str | None = Field(description="who it was assigned to")
    person_name: str | None
    phone: str | None
    assigned_how: str = Field(
        description="on_duty (the roster's post now), on_duty_other_post, responsible (the"
        " office's head), manager, team_leader or unassigned"
    )
    due_at: datetime
    status: str = Field(description="open, acknowledged, done or cancelled")
    overdue: bool = Field(description="past its deadline and not done")
    overdue_at: datetime | None = Field(description="when it was first flagged overdue")
    acked_at: datetime | None
    acked_by: str | None
    done_at: datetime | None
    done_by: str | None
    note: str | None
    sms_status: str | None = Field(description="its SMS in the outbox: pending, sent, acked …")


class TimelineEntry(BaseModel):
    id: int
    at: datetime
    kind: str = Field(description="proposed, started, raised, lowered, ended, task_done, …")
    actor: str = Field(description="a user name, 'plans' or 'system'")
    level_from: int | None
    level_to: int | None
    task_id: int | None
    proposal_id: int | None
    reason: str | None
    details: dict[str, Any]


class ResponseSummary(BaseModel):
    id: int
    plan_id: str
    plan_version: str
    plan_title_zh: str
    plan_title_en: str
    county_code: str
    county_name: str | None
    status: str = Field(description="proposed, active, ended or dismissed")
    level: int | None = Field(description="1 = Ⅰ (highest) … 4 = Ⅳ; null until started")
    level_roman: str | None = Field(description="Ⅰ … Ⅳ (a response level, not a warning level)")
    started_at: datetime | None
    started_by: str | None
    ended_at: datetime | None
    created_at: datetime
    tasks: int = Field(description="tasks not cancelled")
    tasks_acknowledged: int
    tasks_done: int
    tasks_overdue: int
    pending_proposal: Proposal | None = Field(description="the proposal awaiting a commander")


class ResponseDetail(ResponseSummary):
    proposals: list[Proposal]
    task_list: list[Task]
    timeline: list[TimelineEntry]


class Reason(BaseModel):
    """Why (kept on the timeline with the user's name)."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000)


class Start(Reason):
    level: Level | None = Field(None, description="default: the pending proposal's level")


class LevelChange(Reason):
    level: Level


class TaskUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["ack", "done"] = Field(description="ack: received (收到); done: finished")
    note: str | None = Field(None, max_length=2000)


def _summary(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "level_roman": roman(row["level"])}


def _visible(conn: Connection, who: Principal, response_id: int) -> dict[str, Any]:
    """The response, 404 if none, 403 if outside the caller's area."""
    found = get_response(conn, response_id)
    if found is None:
        raise HTTPException(404, f"no response {response_id}")
    if not within(scope(who), found["county_code"]):
        raise outside(conn, who, f"response {response_id} ({found['county_code']})")
    return found


def _plans(request: Request) -> list[CompiledPlan]:
    """The service's plans; their loader (numpy, the expression language) is imported by the
    first action that needs them, not by every API worker's start."""
    from riskmap.geo.plans.load import load_plans

    return load_plans(request.app.state.settings.plan_dirs)


@router.get("", response_model=list[ResponseSummary], summary="Responses, newest first")
def index(
    conn: Connection,
    who: Reader,
    status: Annotated[list[Literal[STATUSES]] | None, Query()] = None,  # type: ignore[valid-type]
    county: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    plan: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Responses of the caller's area, filtered by status, county and plan."""
    rows = list_responses(
        conn, area=scope(who), status=status, county=county, plan=plan, limit=limit
    )
    return [_summary(r) for r in rows]


@router.get("/{response_id}", response_model=ResponseDetail, summary="One response")
def detail(conn: Connection, who: Reader, response_id: ResponseId) -> dict[str, Any]:
    """A response with its proposals, tasks (who, due, acknowledged, done, overdue) and the
    timeline of every proposal, action and task change."""
    return _summary(_visible(conn, who, response_id))


def _done(conn: Connection, response_id: int) -> dict[str, Any]:
    """Commit the action and answer with the response as it now stands."""
    conn.commit()
    found = get_response(conn, response_id)
    assert found is not None
    return _summary(found)


def _now() -> datetime:
    return datetime.now(UTC)


@router.post(
    "/{response_id}/start", response_model=ResponseDetail, summary="Start", responses=STATE
)
def start(
    request: Request, conn: Connection, response_id: ResponseId, body: Start, who: Commander
) -> dict[str, Any]:
    """Start a proposed response (启动): its level's tasks are made, assigned to the people on
    duty now and sent to them by SMS."""
    found = _visible(conn, who, response_id)
    level = body.level or (found["pending_proposal"] or {}).get("level")
    if level is None:
        raise HTTPException(422, "give level: there is no pending proposal to take it from")
    actions.start(conn, _plans(request), response_id, level, who.name, body.reason, at=_now())
    return _done(conn, response_id)


@router.post(
    "/{response_id}/raise",
    response_model=ResponseDetail,
    summary="Raise the level",
    responses=STATE,
)
def raise_level(
    request: Request, conn: Connection, response_id: ResponseId, body: LevelChange, who: Commander
) -> dict[str, Any]:
    """Raise an active response (提升); the new levels' tasks go out."""
    found = _visible(conn, who, response_id)
    if found["level"] is not None and body.level >= found["level"]:
        raise HTTPException(409, f"level {roman(body.level)} is not above {roman(found['level'])}")
    actions.change_level(
        conn, _plans(request), response_id, body.level, who.name, body.reason, at=_now()
    )
    return _done(conn, response_id)


@router.post(
    "/{response_id}/lower",
    response_model=ResponseDetail,
    summary="Lower the level",
    responses=STATE,
)
def lower(
    request: Request, conn: Connection, response_id: ResponseId, body: LevelChange, who: Commander
) -> dict[str, Any]:
    """Lower an active response (降低); unfinished tasks of the levels above it are cancelled."""
    found = _visible(conn, who, response_id)
    if found["level"] is not None and body.level <= found["level"]:
        raise HTTPException(409, f"level {roman(body.level)} is not below {roman(found['level'])}")
    actions.change_level(
        conn, _plans(request), response_id, body.level, who.name, body.reason, at=_now()
    )
    return _done(conn, response_id)


@router.post("/{response_id}/end", response_model=ResponseDetail, summary="End", responses=STATE)
def end(conn: Connection, response_id: ResponseId, body: Reason, who: Commander) -> dict:
    """End an active response (终止); its unfinished tasks are cancelled."""
    _visible(conn, who, response_id)
    actions.end(conn, response_id, who.name, body.reason, at=_now())
    return _done(conn, response_id)


ProposalId = Annotated[int, Path(ge=1, le=2**62, description="proposal id")]


@router.post(
    "/{response_id}/proposals/{proposal_id}/{decision}",
    response_model=ResponseDetail,
    summary="Accept or dismiss a proposal",
    responses=STATE,
)
def decide(
    request: Request,
    conn: Connection,
    response_id: ResponseId,
    proposal_id: ProposalId,
    decision: Literal["accept", "dismiss"],
    body: Reason,
    who: Commander,
) -> dict[str, Any]:
    """Accept (start or raise at the proposed level) or dismiss the pending proposal; a
    dismissed level is not proposed again for the plan's quiet hours."""
    _visible(conn, who, response_id)
    if decision == "accept":
        actions.accept(
            conn, _plans(request), response_id, proposal_id, who.name, body.reason, at=_now()
        )
    else:
        actions.dismiss(conn, response_id, proposal_id, who.name, body.reason, at=_now())
    return _done(conn, response_id)


TaskId = Annotated[int, Path(ge=1, le=2**62, description="task id")]


@router.post(
    "/{response_id}/tasks/{task_id}", response_model=Task, summary="Update a task", responses=STATE
)
def task(
    conn: Connection, response_id: ResponseId, task_id: TaskId, body: TaskUpdate, who: TaskWorker
) -> dict[str, Any]:
    """Acknowledge (收到) or finish a task, with a note."""
    _visible(conn, who, response_id)
    update_task(conn, response_id, task_id, body.action, who.name, body.note, at=_now())
    conn.commit()
    return next(t for t in get_response(conn, response_id)["task_list"] if t["id"] == task_id)
