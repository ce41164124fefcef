"""Village broadcast terminals (村村响) reached over HTTP: riskmap JSON or GD/J EBM XML.

Every body is signed with the terminal's own key and carries an ``Idempotency-Key`` header, so
a terminal can refuse forgeries and drop the repeats that at-least-once delivery brings. The
answer decides the outcome: accepted (also "already have it"), try again later (busy, broken,
unreachable), or refused for good (retrying the same bytes would be refused again).
"""

from __future__ import annotations

import json
import time
from email.utils import parsedate_to_datetime

import httpx

from riskmap.api.dispatch import signing
from riskmap.api.dispatch.adapters.render import EbmCodes, broadcast_body, ebm_xml
from riskmap.api.dispatch.model import Links, Message, Outcome

JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "application/xml"
# busy or temporarily broken: the same message may succeed later. 401 too: during a key
# rotation the new key signs at once and a controller refuses it until its key file is
# updated; retrying (with backoff, then dead and an operator alert) bridges that gap.
RETRY_STATUS = frozenset({401, 408, 425, 429})
ANSWER_CHARS = 200


class HttpTerminalAdapter:
    """Delivers ``http-json`` and ``ebm-xml`` broadcasts; one keep-alive client for all."""

    def __init__(
        self,
        links: Links,
        *,
        timeout_s: float,
        ebm_codes: EbmCodes,
        sender_name: str,
        sender_code: str,
    ) -> None:
        self.links = links
        self.timeout_s = timeout_s
        self.ebm_codes = ebm_codes
        self.sender_name = sender_name
        self.sender_code = sender_code
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s),
            limits=httpx.Limits(max_connections=100, keepalive_expiry=30.0),
            follow_redirects=False,  # a redirect would resend a signed body somewhere unchecked
            headers={"User-Agent": "riskmap-dispatch"},
        )

    async def deliver(self, msg: Message) -> Outcome:
        if not msg.key_id or not msg.secret:
            return Outcome(delivered=False, retry=False, error="terminal has no signing key")
        try:
            body, content_type = self._render(msg)
            endpoint = str(msg.payload["endpoint"])
        except (KeyError, ValueError) as exc:  # a payload no retry can fix
            return Outcome(delivered=False, retry=False, error=f"cannot render: {exc!r}"[:300])
        headers = {
            **signing.signed_headers(msg.key_id, msg.secret, body),
            "Idempotency-Key": msg.idempotency_key,
            "Content-Type": content_type,
        }
        try:
            answer = await self._client.post(endpoint, content=body, headers=headers)
        except httpx.TimeoutException as exc:
            return Outcome(
                delivered=False, error=f"timeout after {self.timeout_s:g} s ({type(exc).__name__})"
            )
        except (httpx.TransportError, OSError) as exc:  # refused, reset, closed, DNS
            return Outcome(delivered=False, error=f"connection failed: {type(exc).__name__}: {exc}")
        except httpx.InvalidURL as exc:
            return Outcome(delivered=False, retry=False, error=f"bad endpoint {endpoint!r}: {exc}")
        return outcome_of(answer)

    def _render(self, msg: Message) -> tuple[bytes, str]:
        protocol = msg.payload.get("protocol")
        if protocol == "http-json":
            doc = broadcast_body(msg, self.links)
            return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode(), JSON_TYPE
        if protocol == "ebm-xml":
            xml = ebm_xml(
                msg,
                self.links,
                self.ebm_codes,
                sender_name=self.sender_name,
                sender_code=self.sender_code,
            )
            return xml, XML_TYPE
        raise ValueError(f"protocol {protocol!r} is not spoken over HTTP")

    async def aclose(self) -> None:
        await self._client.aclose()


def outcome_of(answer: httpx.Response) -> Outcome:
    """Map a terminal's answer to an Outcome (see the module docstring)."""
    code = answer.status_code
    text = answer.text[:ANSWER_CHARS]
    detail = _json_detail(answer)
    if 200 <= code < 300:
        return Outcome(delivered=True, retry=False, status_code=code, detail=detail)
    if code == 409 or (400 <= code < 500 and "duplicate" in text.lower()):
        return Outcome(
            delivered=True, retry=False, status_code=code, detail={**detail, "duplicate": True}
        )
    error = f"HTTP {code}: {text}"
    if code in RETRY_STATUS or code >= 500:
        wait = retry_after(answer.headers.get("Retry-After"))
        return Outcome(delivered=False, retry=True, status_code=code, error=error, retry_after=wait)
    return Outcome(delivered=False, retry=False, status_code=code, error=error, detail=detail)


def retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delay seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def _json_detail(answer: httpx.Response) -> dict:
    """The answer's JSON object (small ones only), for the attempt log."""
    if "json" not in answer.headers.get("Content-Type", "") or len(answer.content) > 4096:
        return {}
    try:
        doc = answer.json()
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}
