"""Duty (值班值守): who is on duty, hand-over notes between shifts, the daily duty report.

Everything here needs a token. The roster names officials and their mobile phones and says
where each one is at every hour: personal data (PIPL) and the first thing a caller posing as
"the county head's office" would want, so the public gets 401 rather than a list without
phones; the public reaches the duty room through the numbers the bureau publishes itself.
Each caller sees the offices of its area of responsibility only (api/areas.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from riskmap.api.areas import CITY_OR_COUNTY, check_codes, prefix_of, scope
from riskmap.api.auth import Reader, require
from riskmap.api.deps import Connection
from riskmap.api.params import Day, Instant
from riskmap.api.responses import invalid
from riskmap.api.users import Principal
from riskmap.geo.duty import handover, roster
from riskmap.geo.duty.handover import HandoverError, HandoverInput
from riskmap.geo.duty.render import render_html, render_pdf
from riskmap.geo.duty.report import build_report, day_bounds

router = APIRouter(prefix="/api/duty", tags=["duty"])

# the days duty handles (geo/duty/report.py day_bounds), as the OpenAPI document can say it
YEARS: dict[str, Any] = {"json_schema_extra": {"pattern": r"^(19|2[01])\d\d-"}}
DutyWriter = Annotated[Principal, Depends(require("duty", write=True))]
CountyCode = Annotated[
    str | None,
    Query(pattern=CITY_OR_COUNTY, description="a county or city code within your area"),
]


def _area(conn: Connection, who: Principal, county: str | None) -> str | None:
    """The code prefix to filter by: ``county`` (checked to lie in the caller's area), else the
    caller's own area (None: everything)."""
    if county is None:
        return scope(who)
    check_codes(conn, who, [county], "area")
    return prefix_of(county)


@router.get("/now", summary="当前值班 Who is on duty (leader, chief, officers by office)")
def now(
    conn: Connection,
    who: Reader,
    at: Annotated[Instant | None, Query(description="a time with zone; default now")] = None,
    county: CountyCode = None,
) -> dict[str, Any]:
    """The leader (带班领导), chief (值班长) and officers (值班员) of each duty office at ``at``,
    with their phones and the duty-room line; county bureaus first, then townships."""
    when = at or datetime.now(UTC)
    if when.tzinfo is None:
        raise HTTPException(422, "at must carry a time zone (e.g. 2026-07-14T10:00+08:00)")
    offices = roster.on_duty(conn, when, _area(conn, who, county))
    return {"at": when, "offices": offices}


@router.post("/handovers", status_code=201, summary="写交接班记录 Post a hand-over note")
def post_handover(conn: Connection, who: DutyWriter, note: HandoverInput) -> dict[str, Any]:
    """A note from the outgoing shift to the incoming one. Who hands over to whom comes from the
    roster at that shift change (default: the chiefs; or name people of those shifts). Notes
    are never changed: to correct one, post a new note with ``corrects``."""
    check_codes(conn, who, [note.org_code], "office")
    try:
        note_id = handover.create(conn, note, who.name, datetime.now(UTC))
    except HandoverError as exc:
        raise invalid(exc.field, exc.message, "body") from None
    conn.commit()
    return handover.list_notes(conn, note_id=note_id)[0]


@router.get("/handovers", summary="交接班记录 Hand-over notes")
def list_handovers(
    conn: Connection,
    who: Reader,
    day: Annotated[Day | None, Query(alias="date", description="a Beijing day", **YEARS)] = None,
    org: Annotated[str | None, Query(pattern=r"^[1-9]\d{5}(\d{3})?$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    """Notes of the offices in your area, oldest shift change first (one Beijing day with
    ``date``); each lists the notes that correct it (``corrected_by``)."""
    if org is not None:
        check_codes(conn, who, [org], "office")
    since, until = day_bounds(day) if day else (None, None)
    notes = handover.list_notes(conn, scope(who), org=org, since=since, until=until, limit=limit)
    return {"handovers": notes}


@router.get("/handovers/{note_id}", summary="一份交接班记录 One hand-over note")
def get_handover(
    conn: Connection, who: Reader, note_id: Annotated[int, Path(ge=1, le=2**63 - 1)]
) -> dict[str, Any]:
    notes = handover.list_notes(conn, note_id=note_id)
    if not notes:
        raise HTTPException(404, f"no hand-over note {note_id}")
    check_codes(conn, who, [notes[0]["org_code"]], "office")
    return notes[0]


@router.get(
    "/report",
    summary="值班日报 The daily duty report (HTML or PDF)",
    response_class=Response,
    responses={200: {"content": {"text/html": {}, "application/pdf": {}}}},
)
def report(
    request: Request,
    conn: Connection,
    who: Reader,
    day: Annotated[Day, Query(alias="date", description="the Beijing day: 2026-07-14", **YEARS)],
    fmt: Annotated[Literal["html", "pdf"], Query(alias="format")] = "html",
    county: CountyCode = None,
) -> Response:
    """The 值班日报 of one day (00:00–24:00 Beijing time) for ``county`` (a county or city in
    your area), else your area, else the installation's default county."""
    if county is not None:
        check_codes(conn, who, [county], "area")
    area = county or who.area or request.app.state.settings.default_county
    built = build_report(conn, day, area)
    name = f"duty-report-{area}-{day.isoformat()}"
    if fmt == "pdf":
        headers = {"Content-Disposition": f'attachment; filename="{name}.pdf"'}
        return Response(render_pdf(built), media_type="application/pdf", headers=headers)
    headers = {"Content-Disposition": f'inline; filename="{name}.html"'}
    return HTMLResponse(render_html(built), headers=headers)
