"""Field reports (灾情直报): reporters post what they see (JSON, or multipart with photos),
readers list them as GeoJSON, forecasters verify them or mark them false."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from riskmap.api.areas import check_codes, scope
from riskmap.api.auth import Reader, require
from riskmap.api.deps import Connection
from riskmap.api.idempotency import Idempotency, idempotency
from riskmap.api.openapi import inline_schema
from riskmap.api.params import AwareInstant
from riskmap.api.responses import invalid
from riskmap.api.users import Principal
from riskmap.geo import reports
from riskmap.geo.reports import ReportError, ReportInput, ReportKind, Verdict

router = APIRouter(prefix="/api/reports", tags=["field reports"])

Reporter = Annotated[Principal, Depends(require("report", write=True))]
Verifier = Annotated[Principal, Depends(require("verify", write=True))]
ReportId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Once = Annotated[Idempotency, Depends(idempotency)]
MAX_BODY = reports.MAX_PHOTOS * reports.MAX_PHOTO_BYTES + 2**20

PHOTO_TYPES = ", ".join(media for media, _ in reports.PHOTO_FORMATS.values())


def _form_schema() -> dict[str, Any]:
    """The JSON fields as form fields (an empty one is left out: no nulls), plus the photos."""
    schema = inline_schema(ReportInput)
    for name, field in schema["properties"].items():
        options = [o for o in field.pop("anyOf", []) if o.get("type") != "null"]
        field.pop("default", None)
        schema["properties"][name] = (options[0] if options else {}) | field
    photo = {"type": "string", "format": "binary", "description": PHOTO_TYPES}
    schema["properties"]["photos"] = {
        "type": "array",
        "items": photo,
        "maxItems": reports.MAX_PHOTOS,
        "description": f"up to {reports.MAX_PHOTOS} photos",
    }
    return schema


_BODY_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": inline_schema(ReportInput)},
            "multipart/form-data": {
                "schema": _form_schema(),
                "encoding": {
                    "damage": {"contentType": "application/json"},
                    "photos": {"contentType": PHOTO_TYPES},
                },
            },
        },
    }
}


class VerifyInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Verdict
    note: reports.Note | None = None


def feature(row: dict[str, Any]) -> dict[str, Any]:
    """A report as a GeoJSON point feature, photos with their URLs."""
    props = {k: v for k, v in row.items() if k not in ("lon", "lat")}
    for p in props["photos"]:
        p["url"] = f"/api/reports/{row['id']}/photos/{p['n']}"
    return {
        "type": "Feature",
        "id": row["id"],
        "geometry": {"type": "Point", "coordinates": [round(row["lon"], 6), round(row["lat"], 6)]},
        "properties": props,
    }


async def _read_form(request: Request) -> tuple[dict[str, Any], list[reports.Photo]]:
    """Form fields (empty ones dropped, damage decoded) and the checked photos."""
    form = await request.form(max_files=50, max_fields=50)
    fields: dict[str, Any] = {}
    uploads: list[UploadFile] = []
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            if key != "photos":
                raise invalid(key, "files go in fields named photos", "body")
            uploads.append(value)
        elif key in fields:
            raise invalid(key, "given more than once", "body")
        elif value.strip():
            fields[key] = value
    if "damage" in fields:
        try:
            fields["damage"] = json.loads(fields["damage"])
        except ValueError:
            raise invalid("damage", "damage must be a JSON object", "body") from None
    if len(uploads) > reports.MAX_PHOTOS:
        raise invalid("photos", f"at most {reports.MAX_PHOTOS} photos", "body")
    photos = []
    for n, up in enumerate(uploads, start=1):
        data = await up.read(reports.MAX_PHOTO_BYTES + 1)
        photos.append(await run_in_threadpool(reports.check_photo, data, n, up.filename))
    return fields, photos


def _parse(fields: Any) -> ReportInput:
    try:
        return ReportInput.model_validate(fields)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False)
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in errors]) from None


@router.post(
    "",
    status_code=201,
    summary="上报灾情 Post a field report",
    openapi_extra=_BODY_DOC,
    responses={
        415: {"description": "neither application/json nor multipart/form-data"},
        422: {"description": "a field is invalid; `loc` names it"},
    },
)
async def create(
    request: Request,
    conn: Connection,
    who: Reporter,
    once: Once,
) -> Any:
    """A report as JSON, or as multipart form fields with photos (JPEG/PNG/WebP). The village
    is the one containing the point unless given; the point must lie in the county and
    ``observed_at`` carry a time zone and not lie in the future. With an ``Idempotency-Key``,
    sending the same report again answers the first one's 201 instead of a second report."""
    if int(request.headers.get("content-length") or 0) > MAX_BODY:
        raise HTTPException(413, f"request larger than {MAX_BODY // 2**20} MB")
    ctype = request.headers.get("content-type", "")
    try:
        if ctype.startswith("multipart/form-data"):
            fields, photos = await _read_form(request)
        elif ctype.startswith("application/json"):
            try:
                fields, photos = await request.json(), []
            except ValueError:
                raise invalid("body", "not valid JSON", "body") from None
        else:
            raise HTTPException(415, "send application/json, or multipart/form-data with photos")
        report = _parse(fields)
        content = {"report": report.model_dump(mode="json"), "photos": [p.sha256 for p in photos]}
        if (kept := await run_in_threadpool(once.replay, conn, who.name, content)) is not None:
            return kept
        if who.area is not None:  # 403 for a village outside the reporter's area
            village = await run_in_threadpool(reports.resolve_village, conn, report)
            await run_in_threadpool(check_codes, conn, who, [village], "village")
        data_dir = request.app.state.settings.data_dir
        report_id = await run_in_threadpool(
            reports.create, conn, report, who.name, photos, data_dir
        )
        answer = feature(await run_in_threadpool(reports.get, conn, report_id))
        await run_in_threadpool(once.keep, conn, 201, answer)
    except ReportError as exc:
        raise invalid(exc.field, exc.message, "body") from None
    await run_in_threadpool(conn.commit)  # durable (and announced) before we answer
    return answer


@router.get("", summary="灾情列表 Field reports (GeoJSON)")
def search(
    conn: Connection,
    who: Reader,
    status: Annotated[list[Literal["received", "verified", "false"]] | None, Query()] = None,
    kind: Annotated[list[ReportKind] | None, Query()] = None,
    village_code: Annotated[str | None, Query(pattern=r"^\d{12}$")] = None,
    township_code: Annotated[str | None, Query(pattern=r"^\d{9}$")] = None,
    since: Annotated[AwareInstant | None, Query(description="observed at or after")] = None,
    until: Annotated[AwareInstant | None, Query(description="observed at or before")] = None,
    bbox: Annotated[str | None, Query(description="minLon,minLat,maxLon,maxLat")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    """Reports matching every filter, newest observation first."""
    box = None
    if bbox is not None:
        try:
            box = tuple(float(x) for x in bbox.split(","))
        except ValueError:
            box = ()
        if len(box) != 4 or not (box[0] < box[2] and box[1] < box[3]):
            raise invalid("bbox", "bbox is minLon,minLat,maxLon,maxLat")
    rows = reports.search(
        conn, status=status, kind=kind, village_code=village_code, township_code=township_code,
        since=since, until=until, bbox=box, area=scope(who), limit=limit, offset=offset,
    )  # fmt: skip
    return {"type": "FeatureCollection", "features": [feature(r) for r in rows]}


@router.get("/{report_id}", summary="一条灾情 One field report")
def one(conn: Connection, who: Reader, report_id: ReportId) -> dict[str, Any]:
    return feature(_report(conn, who, report_id))


def _report(conn: Connection, who: Principal, report_id: int) -> dict[str, Any]:
    """The report; 404 when there is none, 403 when its village lies outside the caller's area."""
    row = reports.get(conn, report_id)
    check_codes(conn, who, [row["village_code"]], f"field report {report_id} in village")
    return row


@router.get(
    "/{report_id}/photos/{n}",
    summary="灾情照片 A report's photo",
    response_class=FileResponse,
    responses={200: {"content": {media: {} for media, _ in reports.PHOTO_FORMATS.values()}}},
)
def photo(
    request: Request,
    conn: Connection,
    who: Reader,
    report_id: ReportId,
    n: Annotated[int, Path(ge=1, le=20)],
) -> FileResponse:
    """The photo's bytes as uploaded, with its checked content type."""
    _report(conn, who, report_id)
    path, content_type = reports.photo_file(conn, report_id, n, request.app.state.settings.data_dir)
    return FileResponse(path, media_type=content_type)


@router.post("/{report_id}/verify", summary="核实灾情 Verify a field report")
def verify(conn: Connection, who: Verifier, report_id: ReportId, body: VerifyInput, once: Once):
    """Mark the report verified (已核实) or false (不实), with an optional note."""
    if (kept := once.replay(conn, who.name, body.model_dump(mode="json"))) is not None:
        return kept
    _report(conn, who, report_id)
    answer = feature(reports.verify(conn, report_id, body.status, who.name, body.note))
    once.keep(conn, 200, answer)
    conn.commit()
    return answer
