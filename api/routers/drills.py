"""``/api/drills``: drills (演练) and what happened in each, kept apart from real warnings.

A drill's warnings, messages and tasks live in its own schema (``drill_<id>``, see
``riskmap.geo.drills.twin``); these handlers read them by pointing the request's transaction at
that schema, and reuse the real CAP, audio and acknowledgement code unchanged. The real lists,
feeds, tiles and the public map read ``public`` and never see a drill.

Listing drills, their warnings and reports needs a token (a drill is the bureau's own business);
a drill's CAP and audio are open like the real ones and acknowledgements are signed, because
terminals fetch and confirm them without tokens.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Path, Query, Request, Response

from riskmap.api.auth import Reader
from riskmap.api.deps import Connection
from riskmap.api.routers import broadcast_audio, broadcasts
from riskmap.geo import drills
from riskmap.geo.drills.twin import SQL
from riskmap.geo.errors import NotFoundError
from riskmap.geo.warnings.cap_xml import render_cap

router = APIRouter(prefix="/api/drills", tags=["drills"])
DrillId = Annotated[int, Path(ge=1, le=2**62, description="the drill's id")]
ObjectId = Annotated[int, Path(ge=1, le=2**62)]
CAP_MEDIA_TYPE = "application/cap+xml"


def _enter(conn: Connection, drill_id: int) -> dict[str, Any]:
    """The drill's register row, with the transaction pointed at its schema (404 if none)."""
    drill = drills.get_drill(conn, drill_id)
    if drill["schema_name"] is None:
        raise NotFoundError(f"drill {drill_id} has no schema (it failed before it started)")
    drills.enter(conn, drill["schema_name"], local=True)
    return drill


@router.get("", summary="Drills, newest first")
def list_drills(
    conn: Connection,
    _: Reader,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Every drill with its scenario, county, targets, times and status."""
    return {"drills": drills.list_drills(conn, limit)}


@router.get("/{drill_id}", summary="One drill with its warnings (all CAP status Exercise)")
def get_drill(conn: Connection, _: Reader, drill_id: DrillId) -> dict[str, Any]:
    """The drill and its warnings, each with links to its CAP; the report is at ``/report``."""
    drill = _enter(conn, drill_id)
    warnings = SQL.rows(conn, "drill_warnings.sql")
    for w in warnings:
        if w["published_version"] is not None:
            w["cap_url"] = f"/api/drills/{drill_id}/warnings/{w['id']}.cap"
    return drill | {"warnings": warnings, "report_url": f"/api/drills/{drill_id}/report"}


@router.get("/{drill_id}/report", summary="The drill report: timeliness, coverage, what was late")
def drill_report(conn: Connection, _: Reader, drill_id: DrillId) -> dict[str, Any]:
    """Threshold crossed → issued per warning (scenario clock), loudspeaker coverage and times
    (wall clock), SMS, response tasks on time, and the late items (Chinese, then English)."""
    drill = drills.get_drill(conn, drill_id)
    if drill["schema_name"] is None:
        raise NotFoundError(f"drill {drill_id} has no schema (it failed before it started)")
    return drills.drill_report(conn, drill)


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
    await anyio.to_thread.run_sync(_enter, conn, drill_id)
    return await broadcasts.ack(request, conn, broadcast_id)


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
