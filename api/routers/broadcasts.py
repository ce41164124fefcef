"""Acknowledgements from village broadcast terminals (村村响): "played" is the last mile.

A terminal (or its township controller) confirms play-out by POSTing a small JSON document
signed with its own key (api/dispatch/signing.py). No bearer token: the signature is the
credential, and a terminal may only acknowledge broadcasts addressed to it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, HTTPException, Path, Request
from psycopg.types.json import Jsonb
from pydantic import BaseModel, Field, ValidationError

from riskmap.api.deps import Connection
from riskmap.api.dispatch import keys, signing
from riskmap.geo.db.sqlfiles import SqlFiles

SQL = SqlFiles("riskmap.api.sql")
DSQL = SqlFiles("riskmap.api.dispatch.sql")

router = APIRouter(prefix="/api/broadcasts", tags=["delivery"])


class Ack(BaseModel):
    """What a terminal says after playing (or failing to play) a broadcast."""

    broadcast_id: int
    idempotency_key: str = Field(max_length=200)
    terminal_id: str = Field(max_length=100)
    result: Literal["played", "failed"] = "played"
    played_at: datetime | None = None
    detail: str | None = Field(default=None, max_length=500)


class AckAnswer(BaseModel):
    broadcast_id: int
    status: str = Field(examples=["acked"])


def _fernet(request: Request):
    # the dispatcher's service module (tenacity, its runner) is imported by the first signed
    # acknowledgement, not by every API worker's start
    from riskmap.api.dispatch.service import installation_key

    state = request.app.state
    if getattr(state, "fernet", None) is None:
        state.fernet = installation_key(state.settings)
    return state.fernet


@router.post(
    "/{broadcast_id}/ack",
    summary="A terminal confirms it played a broadcast (signed with the terminal's key)",
    response_model=AckAnswer,
    responses={
        401: {"description": "unsigned, bad signature, unknown or retired key, stale timestamp"},
        403: {"description": "signed by another terminal than the broadcast's"},
        404: {"description": "no such broadcast"},
        422: {"description": "the body is not an acknowledgement of this broadcast"},
    },
)
async def ack(
    request: Request,
    conn: Connection,
    broadcast_id: Annotated[int, Path(ge=1, le=2**62)],
) -> dict[str, Any]:
    """Record the acknowledgement: the outbox row becomes ``acked`` (or ``failed`` when the
    terminal could not play it). Repeats are harmless; the answer is the row's status."""
    body = await request.body()
    fernet = _fernet(request)
    # database work in a worker thread: the update may wait for a dispatcher's batch to commit
    headers = dict(request.headers)
    return await anyio.to_thread.run_sync(_record, conn, fernet, headers, body, broadcast_id)


def _record(conn, fernet, headers, body: bytes, broadcast_id: int) -> dict[str, Any]:
    try:
        kid = signing.verify(headers, body, lambda k: keys.secrets_for(conn, fernet, k))
    except signing.SignatureError as exc:
        raise HTTPException(401, detail=str(exc)) from None
    try:
        doc = Ack.model_validate(json.loads(body))
    except (ValueError, ValidationError) as exc:
        raise HTTPException(422, detail=f"not an acknowledgement: {exc}"[:500]) from None
    row = conn.execute(SQL("broadcast_target.sql"), {"id": broadcast_id}).fetchone()
    if row is None:
        raise HTTPException(404, detail=f"no broadcast {broadcast_id}")
    terminal = keys.parse_key_id(kid)
    if terminal is None or terminal[0] != row["target"] or doc.terminal_id != row["target"]:
        raise HTTPException(403, detail="this key does not belong to the broadcast's terminal")
    if doc.broadcast_id != broadcast_id or doc.idempotency_key != row["idempotency_key"]:
        raise HTTPException(422, detail="broadcast_id or idempotency_key does not match")
    played_at = (doc.played_at or datetime.now(UTC)).astimezone(UTC)
    status = conn.execute(
        SQL("broadcast_ack.sql"),
        {
            "id": broadcast_id,
            "played": doc.result == "played",
            "at": played_at,
            "ack": Jsonb(doc.model_dump(mode="json") | {"key_id": kid}),
        },
    ).fetchone()["status"]
    conn.execute(DSQL("coverage_event.sql"), {"warning_ids": [row["warning_id"]]})
    return {"broadcast_id": broadcast_id, "status": status}
