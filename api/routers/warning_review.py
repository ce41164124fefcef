"""Review actions on a warning: issue, reject, edit, escalate, cancel (``/api/warnings/{id}/…``),
and a warning written at the desk (``POST /api/warnings``).

Each calls one step of :mod:`riskmap.geo.warnings.lifecycle` in one transaction, with the user's
name and reason in the audit log; a state that does not allow the action is 409 (e.g. cancelling
a candidate), bad input is 422. Forecasters review; cancelling needs the ``cancel`` permission.
A user bound to an area (``api/areas.py``) acts only on warnings wholly inside it and issued by
its bureau or one within it (403 otherwise, naming the area); a city user may write a warning
over villages of several of its counties, issued by the city bureau.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from riskmap.api.areas import CITY_OR_COUNTY, check_codes, check_warning, scope, within
from riskmap.api.auth import Principal, require
from riskmap.api.deps import Connection
from riskmap.api.idempotency import Idempotency, idempotency
from riskmap.api.openapi import described
from riskmap.api.routers.warnings import WarningId
from riskmap.geo.errors import InvalidArgumentError
from riskmap.geo.warnings import lifecycle
from riskmap.geo.warnings.lifecycle import manual

# every action may find a state that does not allow it (409)
router = APIRouter(prefix="/api", tags=["warnings"], responses=described(409))


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


def _act(
    conn: Connection, principal: Principal, once: Idempotency, body: BaseModel, step, *args, **kw
) -> ActionResult | JSONResponse:
    """Run one lifecycle step on warning ``args[0]``: 403 outside the caller's area; an action
    the warning's state does not allow is 409. Sent again with its ``Idempotency-Key``, the
    first answer comes back (an "issue" whose answer was lost is not a 409 the second time)."""
    if (kept := once.replay(conn, principal.name, body.model_dump(mode="json"))) is not None:
        return kept
    check_warning(conn, principal, args[0], act=True)
    try:
        change = step(conn, *args, actor=principal.name, **kw)
    except InvalidArgumentError as exc:
        conn.rollback()
        raise HTTPException(409, str(exc)) from None
    result = ActionResult(**dataclasses.asdict(change), actor=principal.name)
    once.keep(conn, 200, result.model_dump(mode="json"))
    conn.commit()
    return result


Once = Annotated[Idempotency, Depends(idempotency)]


ReviewPrincipal = Annotated[Principal, Depends(require("review", write=True))]
CancelPrincipal = Annotated[Principal, Depends(require("cancel", write=True))]


@router.post("/warnings/{warning_id}/issue", response_model=ActionResult, summary="Approve")
def issue(
    conn: Connection, warning_id: WarningId, body: Reason, who: ReviewPrincipal, once: Once
) -> ActionResult | JSONResponse:
    """Publish a candidate (CAP Alert) or an issued warning's pending update."""
    return _act(conn, who, once, body, lifecycle.issue, warning_id, reason=body.reason)


@router.post("/warnings/{warning_id}/reject", response_model=ActionResult, summary="Reject")
def reject(
    conn: Connection, warning_id: WarningId, body: Reason, who: ReviewPrincipal, once: Once
) -> ActionResult | JSONResponse:
    """Reject a candidate (nothing is sent) or an issued warning's pending update."""
    return _act(conn, who, once, body, lifecycle.reject, warning_id, reason=body.reason)


@router.post("/warnings/{warning_id}/edit", response_model=ActionResult, summary="Edit texts")
def edit(
    conn: Connection, warning_id: WarningId, body: TextEdit, who: ReviewPrincipal, once: Once
) -> ActionResult | JSONResponse:
    """Change the wording: a draft in place, an issued warning by a CAP Update sent at once."""
    fields = body.model_dump(exclude={"reason"}, exclude_none=True)
    if not fields:
        raise HTTPException(422, "give at least one text field to change")
    return _act(
        conn, who, once, body, lifecycle.edit_text, warning_id, reason=body.reason, **fields
    )


@router.post(
    "/warnings/{warning_id}/escalate", response_model=ActionResult, summary="Change the level"
)
def escalate(
    conn: Connection, warning_id: WarningId, body: Escalation, who: ReviewPrincipal, once: Once
) -> ActionResult | JSONResponse:
    """Set the colour (up or down); an issued warning sends a CAP Update at once."""
    return _act(
        conn, who, once, body, lifecycle.escalate, warning_id, body.colour, reason=body.reason
    )


@router.post("/warnings/{warning_id}/cancel", response_model=ActionResult, summary="Cancel")
def cancel(
    conn: Connection, warning_id: WarningId, body: Reason, who: CancelPrincipal, once: Once
) -> ActionResult | JSONResponse:
    """Withdraw an issued warning: a CAP Cancel (撤销) to everyone it reached."""
    return _act(conn, who, once, body, lifecycle.cancel, warning_id, reason=body.reason)


Code12 = Annotated[str, Field(pattern=r"^\d{12}$")]


class NewWarning(Reason):
    """A warning written at the desk. English texts default to the Chinese ones."""

    hazard: str = Field(pattern=r"^[a-z][a-z_]{1,39}$", examples=["flash_flood", "rainstorm"])
    colour: Literal["blue", "yellow", "orange", "red"]
    village_codes: list[Code12] = Field(min_length=1, max_length=20000)
    event_zh: str = Field(min_length=1, max_length=200)
    headline_zh: str = Field(min_length=1, max_length=500)
    description_zh: str = Field(min_length=1, max_length=10000)
    instruction_zh: str = Field(min_length=1, max_length=10000)
    event_en: str = Field("", max_length=200)
    headline_en: str = Field("", max_length=500)
    description_en: str = Field("", max_length=10000)
    instruction_en: str = Field("", max_length=10000)
    hours: float = Field(6.0, ge=manual.MIN_HOURS, le=720, description="in force this long")
    category: Literal[manual.CATEGORIES] = "Met"  # type: ignore[valid-type]
    action: Literal["prepare_evacuation", "evacuate_now"] | None = None
    issuer: str | None = Field(
        None,
        pattern=CITY_OR_COUNTY,
        description="GB/T 2260 code of the issuing bureau (city or county). Default: the"
        " caller's area; for a caller without one, the villages' county, or their city when"
        " they lie in several counties of one city",
    )
    issue: bool = Field(False, description="publish at once instead of leaving a candidate")


def _issuer(principal: Principal, body: NewWarning) -> str:
    """The issuing bureau: asked for (within the caller's area), the caller's, or the villages'."""
    prefix = scope(principal)
    if body.issuer is not None:
        if not within(prefix, body.issuer):
            raise HTTPException(
                403, f"issuer {body.issuer} is not your area {principal.area} or one within it"
            )
        return body.issuer
    if principal.area is not None:
        return principal.area
    counties = {c[:6] for c in body.village_codes}
    if len(counties) == 1:
        return counties.pop()
    cities = {c[:4] for c in counties}
    if len(cities) == 1:
        return cities.pop() + "00"
    raise HTTPException(422, "the villages lie in several cities: give issuer")


@router.post(
    "/warnings",
    response_model=ActionResult,
    status_code=201,
    summary="Write a warning at the desk (county- or city-level)",
    responses={403: {"description": "villages or issuer outside the caller's area"}},
)
def create(
    conn: Connection, body: NewWarning, who: ReviewPrincipal, once: Once
) -> ActionResult | JSONResponse:
    """A candidate (or, with ``issue``, an issued warning) over the given villages, issued by
    the caller's bureau: a county user's villages must lie in its county; a city user's may lie
    in several of its counties (a city-level warning; CAP sender and identifier carry the
    city's code)."""
    if (kept := once.replay(conn, who.name, body.model_dump(mode="json"))) is not None:
        return kept
    check_codes(conn, who, body.village_codes, "villages")
    spec = manual.ManualWarning(
        **body.model_dump(exclude={"reason", "issuer", "issue", "village_codes"}),
        village_codes=tuple(body.village_codes),
    )
    issuer = _issuer(who, body)
    change = manual.create(conn, spec, issuer, who.name, body.reason, issue=body.issue)
    result = ActionResult(**dataclasses.asdict(change), actor=who.name)
    once.keep(conn, 201, result.model_dump(mode="json"))
    conn.commit()
    return result
