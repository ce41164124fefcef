"""Monitoring readings over HTTP (``POST /api/readings``): a device gateway posts JSON readings
of work-safety points (尾矿库、危化品、烟花爆竹), named by point id.

In the API, not the ingest runner, because the API already has what an HTTP write needs: bearer
tokens with roles (the ``integration`` role has the ``readings`` permission), the connection
pool, body limits and error mapping. No per-user write rate limit: a gateway posts every few
seconds by design (the 413 body limit bounds a request). Bad items are answered in the
response *and* quarantined under one ingest_log row per request (kind 'http'); good items are
stored (a reading already stored is a duplicate, not an error).
"""

from __future__ import annotations

from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field

from riskmap.api.auth import require
from riskmap.api.deps import Connection
from riskmap.api.openapi import described
from riskmap.api.users import Principal
from riskmap.geo.worksafety.readings import Stored, point_ids, store_readings
from riskmap.ingest.worksafety.json_readings import ReadingIn, parse_json_readings
from riskmap.ingest.worksafety.provenance import Refused, open_log, record_batch

router = APIRouter(tags=["work safety"])
Gateway = Annotated[Principal, Depends(require("readings"))]


class RefusedItem(BaseModel):
    record: str = Field(examples=["item 2"])
    field: str | None = Field(examples=["tm"])
    reason: str = Field(examples=["Input should have timezone info"])


class ReadingsAnswer(BaseModel):
    stored: int = Field(description="readings inserted")
    duplicates: int = Field(description="readings already stored (same point and time), skipped")
    refused: list[RefusedItem] = Field(description="items not stored, with the reason")


@router.post(
    "/api/readings",
    summary="A device gateway posts monitoring readings (one object or a list)",
    response_model=ReadingsAnswer,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "anyOf": [
                            ReadingIn.model_json_schema(),
                            {"type": "array", "items": ReadingIn.model_json_schema()},
                        ]
                    }
                }
            },
        }
    },
    responses=described(404, 422),
)
async def post_readings(request: Request, conn: Connection, gateway: Gateway) -> dict[str, Any]:
    """Store the good readings; 422 (with each refusal) when none is good."""
    body = await request.body()
    return await anyio.to_thread.run_sync(_store, conn, gateway.name, body)


def _store(conn, who: str, body: bytes) -> dict[str, Any]:
    readings, bad = parse_json_readings(body)
    refused = [Refused(record, field, reason) for record, field, reason in bad]
    ids = point_ids(conn)
    rows = []
    for i, r in enumerate(readings, start=1):
        n = ids.get(r.point)
        if n is None:
            refused.append(Refused(f"reading {i}", "point", f"unknown point '{r.point[:60]}'"))
        else:
            rows.append((n, r.tm, r.value, r.flag))
    stored = store_readings(conn, rows) if rows else Stored(0, 0)
    source = f"POST /api/readings by {who}"
    ingest_id = open_log(conn, "http", source)
    span = (min(r[1] for r in rows), max(r[1] for r in rows)) if rows else None
    raw = [
        Refused(x.record, x.field, x.reason, body[:2000].decode("utf-8", "replace"))
        for x in refused
    ]
    record_batch(conn, ingest_id, source, stored, raw, len(body), span)
    answer = {
        "stored": stored.inserted,
        "duplicates": stored.duplicates,
        "refused": [{"record": x.record, "field": x.field, "reason": x.reason} for x in refused],
    }
    if not rows and refused:
        conn.commit()  # the quarantine stays although the answer is an error
        if all(x.field == "point" for x in refused):  # well-formed, for points we do not know
            names = ", ".join(sorted({x.reason.removeprefix("unknown point ") for x in refused}))
            raise HTTPException(404, f"no such monitoring point (未找到监测点): {names[:300]}")
        # shaped like FastAPI's own validation errors (loc, msg, type), record and field kept
        detail = [
            {"loc": ["body", x["record"], x["field"] or ""], "msg": x["reason"],
             "type": "value_error", **x}
            for x in answer["refused"]
        ]  # fmt: skip
        raise HTTPException(422, detail=detail)
    return answer
