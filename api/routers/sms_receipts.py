"""SMS delivery receipts from the gateway (短信回执): whether each part reached the phone.

No bearer token: the gateway signs each receipt with HMAC-SHA256 of the key riskmap sends it
(setting ``sms_gateway_key``), over the timestamp and the body; a bad or stale signature is 401
and nothing is stored. Without a configured key every receipt is refused the same way.
"""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import APIRouter, HTTPException, Request
from pydantic import AwareDatetime, BaseModel, Field, ValidationError

from riskmap.api.deps import Connection
from riskmap.api.dispatch import receipts
from riskmap.api.dispatch.signing import SignatureError

router = APIRouter(tags=["delivery"])


class Receipt(BaseModel):
    """One part's delivery receipt, as the gateway sends it."""

    message_id: str = Field(min_length=1, max_length=200)
    ref: str = Field(
        pattern=r"^.+#[1-9]\d{0,2}/[1-9]\d{0,2}$",
        max_length=400,
        description="our reference: the outbox idempotency key, '#', part '/' parts",
        examples=["warning:8:v3:sms:13912345678#1/2"],
    )
    to: str | None = Field(default=None, max_length=40)
    status: str = Field(min_length=1, max_length=40, examples=["DELIVRD", "UNDELIV"])
    done_at: AwareDatetime


class ReceiptAnswer(BaseModel):
    recorded: bool = Field(description="false for a receipt already recorded")
    outbox_id: int
    part: int
    parts: int
    outbox_status: str = Field(examples=["sent", "acked", "failed"])


@router.post(
    "/api/sms/receipts",
    summary="The SMS gateway reports delivery of one part (signed with the gateway key)",
    response_model=ReceiptAnswer,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": Receipt.model_json_schema()}},
        }
    },
    responses={
        401: {"description": "unsigned, bad signature, stale timestamp, or no key configured"},
        404: {"description": "no SMS message with this reference"},
        422: {"description": "the body is not a receipt"},
    },
)
async def sms_receipt(request: Request, conn: Connection) -> dict[str, Any]:
    """Store the receipt; when every part of the message has one, the outbox row becomes
    ``acked`` (all delivered) or ``failed``. Repeats are harmless."""
    body = await request.body()
    key = request.app.state.settings.sms_gateway_key
    headers = dict(request.headers)
    # database work in a worker thread: it may wait for a dispatcher's batch to commit
    return await anyio.to_thread.run_sync(_record, conn, key, headers, body)


def _record(conn, key: str | None, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    if not key:
        raise HTTPException(401, detail="receipts refused: no SMS gateway key is configured")
    try:
        receipts.verify(headers, body, key)
    except SignatureError as exc:
        raise HTTPException(401, detail=str(exc)) from None
    try:
        doc = Receipt.model_validate_json(body)
    except ValidationError as exc:
        raise HTTPException(422, detail=f"not a receipt: {exc}"[:500]) from None
    return receipts.record_receipt(conn, doc.model_dump())
