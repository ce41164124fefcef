"""SMS through a commercial gateway's HTTP API (short messages to responsible persons' phones).

Each part of a split text (``payload["parts"]``, numbered "(1/3)…", see
``geo.warnings.texts.sms_parts``) is one send, in order, with the client reference
``<idempotency key>#<i>/<n>``. Gateways de-duplicate by that reference, so a retry simply
re-sends every part: parts the gateway already took come back with their first message id and
no phone gets them twice. The message ids go to ``provider_ref``; delivery receipts name them
(``api.dispatch.receipts``).
"""

from __future__ import annotations

import httpx

from riskmap.api.dispatch.adapters.http_terminal import retry_after
from riskmap.api.dispatch.model import Links, Message, Outcome
from riskmap.geo.warnings.texts import sms_parts

ANSWER_CHARS = 200
RETRY_STATUS = frozenset({408, 425, 429})  # busy: the same send may be taken later


class SmsGatewayAdapter:
    """Sends SMS rows to one gateway with one keep-alive client."""

    def __init__(
        self, links: Links, *, url: str, key: str, callback_url: str, timeout_s: float
    ) -> None:
        self.links = links
        self.url = url
        self.callback_url = callback_url
        self.timeout_s = timeout_s
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=False,
            headers={"Authorization": f"Bearer {key}", "User-Agent": "riskmap-dispatch"},
        )

    async def deliver(self, msg: Message) -> Outcome:
        # rows without parts (site contacts, whose text is made in SQL; older rows) are split here
        parts = msg.payload.get("parts") or sms_parts(str(msg.payload.get("text") or ""))
        if not parts or not all(isinstance(p, str) and p for p in parts):
            return Outcome(delivered=False, retry=False, error="SMS row has no text")
        n = len(parts)
        ids: list[str] = []
        for i, text in enumerate(parts, 1):
            body = {
                "to": msg.target,
                "text": text,
                "ref": f"{msg.idempotency_key}#{i}/{n}",
                "callback": self.callback_url,
            }
            where = f"part {i}/{n}"
            try:
                answer = await self._client.post(self.url, json=body)
            except httpx.TimeoutException as exc:
                return Outcome(
                    delivered=False,
                    error=f"{where}: timeout after {self.timeout_s:g} s ({type(exc).__name__})",
                )
            except (httpx.TransportError, OSError) as exc:
                return Outcome(
                    delivered=False, error=f"{where}: connection failed: {type(exc).__name__}"
                )
            code = answer.status_code
            if 200 <= code < 300:
                try:
                    ids.append(str(answer.json()["message_id"]))
                    continue
                except (ValueError, KeyError, TypeError):  # taken? a retry is de-duplicated
                    return Outcome(
                        delivered=False, status_code=code, error=f"{where}: answer without id"
                    )
            error = f"{where}: HTTP {code}: {answer.text[:ANSWER_CHARS]}"
            if code in RETRY_STATUS or code >= 500:
                wait = retry_after(answer.headers.get("Retry-After"))
                return Outcome(delivered=False, status_code=code, error=error, retry_after=wait)
            return Outcome(delivered=False, retry=False, status_code=code, error=error)
        return Outcome(
            delivered=True,
            retry=False,
            status_code=200,
            provider_ref=" ".join(ids),
            detail={"parts": n, "message_ids": ids},
        )

    async def aclose(self) -> None:
        await self._client.aclose()
