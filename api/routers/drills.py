"""``/api/drills``: drills (演练) and what happened in each, kept apart from real warnings.

A drill's warnings, messages and tasks live in its own schema (``drill_<id>``, see
``riskmap.geo.drills.twin``); these handlers read them by pointing the request's transaction at
that schema, and reuse the real CAP, audio and acknowledgement code unchanged. The real lists,
feeds, tiles and the public map read ``public`` and never see a drill.

Listing drills, their warnings and reports needs a token (a drill is the bureau's own business)
and keeps a user bound to an area to the drills run for its counties (api/areas.py: others are
not listed, and 403 by id). A drill's CAP and audio are open like the real ones and
acknowledgements are signed, because terminals fetch and confirm them without tokens; the
signature is checked before the drill is looked up (401 before 404: the terminals' keys are the
real ones, in ``public``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, HTTPException, Path, Query, Request, Response

from riskmap.api.areas import outside, scope, within
from riskmap.api.auth import Reader
from riskmap.api.deps import Connection
from riskmap.api.dispatch import keys, signing
from riskmap.api.routers import broadcast_audio, broadcasts
from riskmap.api.users import Principal
from riskmap.geo import drills
from riskmap.geo.drills.twin import SQL
from riskmap.geo.errors import NotFoundError
from riskmap.geo.warnings.cap_xml import render_cap

router = APIRouter(prefix="/api/drills", tags=["drills"])
DrillId = Annotated[int, Path(ge=1, le=2**62, description="the drill's id")]
ObjectId = Annotated[int, Path(ge=1, le=2**62)]
CAP_MEDIA_TYPE = "application/cap+xml"


def _enter(conn: Connection, drill_id: int, who: Principal | None = None) -> dict[str, Any]:
    """The drill's register row, with the transaction pointed at its schema: 404 if none, 403
    if ``who`` is bound to an area the drill's county is not in."""
    drill = drills.get_drill(conn, drill_id)
    if who is not None and not within(scope(who), drill["county_code"]):
        raise outside(conn, who, f"drill {drill_id} ({drill['county_code']})")
    if drill["schema_name"] is None:
        raise NotFoundError(f"drill {drill_id} has no schema (it failed before it started)")
    drills.enter(conn, drill["schema_name"], local=True)
    return drill


@router.get("", summary="Drills, newest first")
def list_drills(
    conn: Connection,
    who: Reader,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """The drills of your area with their scenario, county, targets, times and status (a drill
    whose process died while running is ``failed``, the reason in ``error``)."""
    return {"drills": drills.list_drills(conn, limit, area=scope(who))}


@router.get("/{drill_id}", summary="One drill with its warnings (all CAP status Exercise)")
def get_drill(conn: Connection, who: Reader, drill_id: DrillId) -> dict[str, Any]:
    """The drill and its warnings, each with links to its CAP; the report is at ``/report``."""
    drill = _enter(conn, drill_id, who)
    warnings = SQL.rows(conn, "drill_warnings.sql")
    for w in warnings:
        if w["published_version"] is not None:
            w["cap_url"] = f"/api/drills/{drill_id}/warnings/{w['id']}.cap"
    return drill | {"warnings": warnings, "report_url": f"/api/drills/{drill_id}/report"}


@router.get("/{drill_id}/report", summary="The drill report: timeliness, coverage, what was late")
def drill_report(conn: Connection, who: Reader, drill_id: DrillId) -> dict[str, Any]:
    """Threshold crossed → issued per warning (scenario clock), loudspeaker coverage and times
    (wall clock), SMS, response tasks on time, and the late items (Chinese, then English)."""
    return drills.drill_report(conn, _enter(conn, drill_id, who))


@router.get(
    "/{drill_id}/warnings/{warning_id}.cap",
    summary="CAP 1.2 XML of a drill warning (status Exercise)",
    response_class=Response,
    responses={200: {"content": {CAP_MEDIA_TYPE: {}}}, 404: {}},
)
def drill_warning_cap(
    conn: Connection,
    drill_id: DrillId,
    warning_id: ObjectId,
    version: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
) -> Response:
    """The drill warning's published CAP message (the newest, or ``version``)."""
    _enter(conn, drill_id)
    doc = render_cap(conn, warning_id, version)
    return Response(doc, media_type=CAP_MEDIA_TYPE, headers={"Cache-Control": "no-store"})


@router.post(
    "/{drill_id}/broadcasts/{broadcast_id}/ack",
    summary="A terminal confirms it played a drill broadcast (signed with its key)",
    response_model=broadcasts.AckAnswer,
    responses={401: {}, 403: {}, 404: {}, 422: {}},
)
async def drill_ack(
    request: Request, conn: Connection, drill_id: DrillId, broadcast_id: ObjectId
) -> dict[str, Any]:
    """As ``POST /api/broadcasts/{id}/ack``, for a drill's message."""
    body = await request.body()
    headers, fernet = dict(request.headers), broadcasts._fernet(request)
    await anyio.to_thread.run_sync(_signed_enter, conn, fernet, headers, body, drill_id)
    return await broadcasts.ack(request, conn, broadcast_id)


def _signed_enter(conn: Connection, fernet, headers: dict, body: bytes, drill_id: int) -> None:
    """401 unless a terminal's key signed the body (the real keys, read before the drill is
    entered), then into the drill (404 if none); the acknowledgement itself checks the rest."""
    try:
        signing.verify(headers, body, lambda k: keys.secrets_for(conn, fernet, k))
    except signing.SignatureError as exc:
        raise HTTPException(401, detail=str(exc)) from None
    _enter(conn, drill_id)


@router.get(
    "/{drill_id}/broadcasts/{broadcast_id}/audio.{fmt}",
    summary="A drill broadcast as audio (WAV or MP3)",
    response_class=Response,
    responses={200: {"content": {"audio/wav": {}, "audio/mpeg": {}}}, 404: {}, 503: {}},
)
def drill_audio(
    request: Request,
    conn: Connection,
    drill_id: DrillId,
    broadcast_id: ObjectId,
    fmt: Literal["wav", "mp3"],
) -> Response:
    """As ``GET /api/broadcasts/{id}/audio.{fmt}``, for a drill's message."""
    _enter(conn, drill_id)
    return broadcast_audio.broadcast_audio(request, conn, broadcast_id, fmt)
