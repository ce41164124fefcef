"""``/api/cap/feed.atom``: the ATOM index of the CAP alerts in force (written in geo/warnings)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from riskmap.api.deps import Connection
from riskmap.geo.warnings.atom_xml import ATOM_MEDIA_TYPE, render_atom

router = APIRouter(prefix="/api/cap", tags=["warnings"])


@router.get(
    "/feed.atom",
    summary="ATOM feed of the CAP alerts in force",
    response_class=Response,
    responses={200: {"content": {ATOM_MEDIA_TYPE: {}}}},
)
def cap_feed(request: Request, conn: Connection) -> Response:
    """Every issued warning's current CAP message, newest first (no token needed)."""
    body = render_atom(conn, str(request.base_url))
    return Response(
        body, media_type=ATOM_MEDIA_TYPE, headers={"Cache-Control": "public, max-age=30"}
    )
