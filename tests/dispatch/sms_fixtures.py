"""The fake SMS gateway (api/devtools/sms_gateway.py) on a loopback port, and SMS messages."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from riskmap.api.devtools.sms_gateway import Behaviour, FakeSmsGateway
from riskmap.api.dispatch.model import Message
from tests.dispatch.receivers import serving

KEY = "test-sms-key"
PHONE = "13912345678"
# A red 立即转移 SMS split in three, as geo.warnings.delivery writes one (hand-written).
PARTS = [
    "(1/3)【麻阳苗族自治县应急管理局】山洪灾害红色预警：立即转移！唐冲镇等12个乡镇73个村。",
    "(2/3)危险区人员立即按转移路线撤离到安置点，不得返回。",
    "(3/3)村监测员加强巡查，关注雨情和后续预警。",
]


@contextmanager
def sms_gateway(**behaviour: Any) -> Iterator[tuple[str, FakeSmsGateway]]:
    """(base URL, gateway) of a fake gateway started with ``behaviour``."""
    gateway = FakeSmsGateway(KEY, behaviour=Behaviour(**behaviour))
    with serving(gateway.app) as url:
        yield url, gateway


def control(url: str, **changes: Any) -> dict:
    answer = httpx.post(f"{url}/control", json=changes, headers=auth(), timeout=5)
    answer.raise_for_status()
    return answer.json()


def auth(key: str = KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def sms_message(
    parts: list[str] | None = None,
    *,
    outbox_id: int = 51,
    phone: str = PHONE,
    key: str | None = None,
    attempt: int = 1,
    **payload: Any,
) -> Message:
    """An SMS Message for warning 7 version 1 to ``phone``; ``parts=None`` leaves them out."""
    p: dict[str, Any] = {"text": "".join(PARTS), "phone": phone, **payload}
    if parts is not None:
        p["parts"] = parts
    return Message(
        id=outbox_id,
        warning_id=7,
        version=1,
        channel="sms",
        target=phone,
        payload=p,
        idempotency_key=key or f"warning:7:v1:sms:{phone}",
        attempt=attempt,
    )
