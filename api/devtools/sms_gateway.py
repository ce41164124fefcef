"""A fake SMS gateway (短信网关) on loopback, for development and tests: a real HTTP server that
behaves like the commercial ones riskmap talks to, since those cannot be reached from here.

``POST /sms/send`` with ``Authorization: Bearer <key>`` and JSON ``{"to", "text", "ref",
"callback"}`` answers ``{"message_id", "status": "accepted"}``. The client's ``ref`` makes a
send idempotent: the same ref gets the same message id and is neither logged nor sent twice.
After ``receipt_delay_s`` the gateway POSTs a delivery receipt ``{"message_id", "ref", "to",
"status": "DELIVRD" | "UNDELIV", "done_at"}`` to the callback, signed like this::

    X-Gateway-Timestamp: 1796540400
    X-Gateway-Signature: sha256=<hex of HMAC-SHA256(key, timestamp + "." + body)>

and retried a few times when the callback fails. Misbehaviour is switched on at start or at
runtime with ``POST /control`` (throttling → 429 with Retry-After, failures → 5xx, slowness),
so tests can drive a client through what real gateways do on a bad day. ``GET /sms/log`` lists
what was accepted (also appended to a JSONL file when one is given).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import math
import random
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

log = logging.getLogger("riskmap.devtools.sms_gateway")

TIMESTAMP = "X-Gateway-Timestamp"
SIGNATURE = "X-Gateway-Signature"


@dataclass
class Behaviour:
    """What the gateway does; every field can be changed at runtime with ``POST /control``."""

    throttle_every: int = 0  # every Nth send answers 429 (0: never)
    rate_per_s: float = 0.0  # sends beyond this many in one second answer 429 (0: no limit)
    retry_after_s: float = 1.0  # what a 429 asks the client to wait
    fail_ratio: float = 0.0  # share of sends answered with fail_status (seeded, repeatable)
    fail_next: int = 0  # the next N sends answer fail_status
    fail_status: int = 503
    delay_s: float = 0.0  # wait this long before answering a send
    receipts: bool = True  # send delivery receipts to the callback
    receipt_delay_s: float = 1.0
    receipt_attempts: int = 4  # tries per receipt (backoff 0.2 s, doubling)
    undeliverable: list[str] = field(default_factory=list)  # phones whose receipts say UNDELIV

    def update(self, changes: dict[str, Any]) -> None:
        """Apply ``changes``; unknown names or wrong types raise ValueError (nothing applied)."""
        known = {f.name: f for f in fields(self)}
        unknown = sorted(set(changes) - set(known))
        if unknown:
            raise ValueError(f"unknown settings: {unknown}")
        new = {}
        for name, value in changes.items():
            current = getattr(self, name)
            if isinstance(current, bool):
                ok = isinstance(value, bool)
            elif isinstance(current, list):
                ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
            elif isinstance(current, int):
                ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
            else:
                ok = isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
            if not ok:
                raise ValueError(f"{name}: {value!r} is not a valid {type(current).__name__}")
            new[name] = float(value) if isinstance(current, float) else value
        if not 0 <= new.get("fail_ratio", self.fail_ratio) <= 1:
            raise ValueError("fail_ratio must lie between 0 and 1")
        for name, value in new.items():
            setattr(self, name, value)


class FakeSmsGateway:
    """The gateway's state and its Starlette app (``.app``); one instance per server."""

    def __init__(
        self,
        key: str,
        *,
        behaviour: Behaviour | None = None,
        log_path: Path | None = None,
        seed: int = 0,
    ) -> None:
        self.key = key
        self.behaviour = behaviour or Behaviour()
        self.log_path = log_path
        self.messages: list[dict[str, Any]] = []  # accepted, in order
        self.by_ref: dict[str, dict[str, Any]] = {}
        self.receipts: list[dict[str, Any]] = []  # receipts tried: what the callback answered
        self.requests = 0  # authorised sends seen (duplicates and refusals included)
        self._recent: deque[float] = deque()  # send times within the last second
        self._rng = random.Random(seed)
        self._tasks: set[asyncio.Task] = set()
        self._client: httpx.AsyncClient | None = None
        self.app = Starlette(
            routes=[
                Route("/sms/send", self.send, methods=["POST"]),
                Route("/sms/log", self.read_log, methods=["GET"]),
                Route("/sms/receipts", self.read_receipts, methods=["GET"]),
                Route("/control", self.control, methods=["GET", "POST"]),
            ],
            lifespan=self._lifespan,
        )

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self._client = httpx.AsyncClient(timeout=5.0)
        try:
            yield
        finally:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._client.aclose()

    def _authorised(self, request: Request) -> bool:
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {self.key}".encode())

    # ---- sending -----------------------------------------------------------------------------

    async def send(self, request: Request) -> JSONResponse:
        if not self._authorised(request):
            return JSONResponse({"error": "bad or missing API key"}, status_code=401)
        b = self.behaviour
        if b.delay_s:
            await asyncio.sleep(b.delay_s)
        self.requests += 1
        now = time.monotonic()
        while self._recent and now - self._recent[0] >= 1.0:
            self._recent.popleft()
        self._recent.append(now)
        throttled = (b.throttle_every and self.requests % b.throttle_every == 0) or (
            b.rate_per_s and len(self._recent) > b.rate_per_s
        )
        if throttled:
            wait = str(max(1, math.ceil(b.retry_after_s)))
            return JSONResponse(
                {"error": "too many requests"}, status_code=429, headers={"Retry-After": wait}
            )
        if b.fail_next or (b.fail_ratio and self._rng.random() < b.fail_ratio):
            b.fail_next = max(0, b.fail_next - 1)
            return JSONResponse({"error": "gateway unavailable"}, status_code=b.fail_status)
        try:
            doc = await request.json()
            to, text, ref = (doc[k] for k in ("to", "text", "ref"))
            callback = doc.get("callback")
            if not all(isinstance(v, str) and v for v in (to, text, ref)):
                raise ValueError("to, text and ref must be non-empty strings")
            if callback is not None and not str(callback).startswith(("http://", "https://")):
                raise ValueError("callback must be an http(s) URL")
        except (ValueError, KeyError, TypeError) as exc:
            return JSONResponse({"error": f"bad request: {exc}"}, status_code=400)
        if ref in self.by_ref:  # the client retried: same id, not sent again
            return JSONResponse(
                {"message_id": self.by_ref[ref]["message_id"], "status": "accepted"}
            )
        entry = {
            "to": to,
            "text": text,
            "ref": ref,
            "message_id": f"M{uuid.uuid4().hex[:20]}",
            "received_at": datetime.now(UTC).isoformat(),
        }
        self.messages.append(entry)
        self.by_ref[ref] = entry
        if self.log_path is not None:
            with self.log_path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(entry, ensure_ascii=False) + "\n")
        if callback and b.receipts:
            task = asyncio.create_task(self._receipt(entry, callback))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return JSONResponse({"message_id": entry["message_id"], "status": "accepted"})

    # ---- receipts ----------------------------------------------------------------------------

    def sign(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        """The receipt headers for ``body`` (public so tests can sign or forge their own)."""
        ts = int(time.time()) if timestamp is None else timestamp
        mac = hmac.new(self.key.encode(), f"{ts}.".encode() + body, hashlib.sha256)
        return {TIMESTAMP: str(ts), SIGNATURE: f"sha256={mac.hexdigest()}"}

    async def _receipt(self, entry: dict[str, Any], callback: str) -> None:
        b = self.behaviour
        await asyncio.sleep(b.receipt_delay_s)
        status = "UNDELIV" if entry["to"] in b.undeliverable else "DELIVRD"
        doc = {
            "message_id": entry["message_id"],
            "ref": entry["ref"],
            "to": entry["to"],
            "status": status,
            "done_at": datetime.now(UTC).isoformat(),
        }
        body = json.dumps(doc, ensure_ascii=False).encode()
        record = {**doc, "callback": callback, "attempts": 0, "answer": None}
        self.receipts.append(record)
        assert self._client is not None
        for attempt in range(max(1, b.receipt_attempts)):
            record["attempts"] = attempt + 1
            headers = {"Content-Type": "application/json", **self.sign(body)}
            try:
                answer = await self._client.post(callback, content=body, headers=headers)
                record["answer"] = answer.status_code
                if answer.status_code < 500 and answer.status_code not in (408, 429):
                    return  # taken, or refused for good
            except httpx.HTTPError as exc:
                record["answer"] = f"{type(exc).__name__}"
            await asyncio.sleep(0.2 * 2**attempt)
        log.warning("receipt for %s not taken by %s", entry["ref"], callback)

    # ---- inspection and control ---------------------------------------------------------------

    async def read_log(self, request: Request) -> JSONResponse:
        if not self._authorised(request):
            return JSONResponse({"error": "bad or missing API key"}, status_code=401)
        return JSONResponse(self.messages)

    async def read_receipts(self, request: Request) -> JSONResponse:
        if not self._authorised(request):
            return JSONResponse({"error": "bad or missing API key"}, status_code=401)
        return JSONResponse(self.receipts)

    async def control(self, request: Request) -> JSONResponse:
        """GET: the behaviour and counters. POST: change the behaviour (JSON object of fields);
        ``{"reset": true}`` also forgets messages, receipts and counters."""
        if not self._authorised(request):
            return JSONResponse({"error": "bad or missing API key"}, status_code=401)
        if request.method == "POST":
            try:
                changes = await request.json()
                if not isinstance(changes, dict):
                    raise ValueError("send a JSON object")
                if changes.pop("reset", False):
                    self.messages.clear()
                    self.by_ref.clear()
                    self.receipts.clear()
                    self.requests = 0
                    self._recent.clear()
                self.behaviour.update(changes)
            except ValueError as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(
            {**asdict(self.behaviour), "requests": self.requests, "accepted": len(self.messages)}
        )


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 8901,
    key: str = "demo-sms-key",
    behaviour: Behaviour | None = None,
    log_path: Path | None = None,
) -> None:
    """Run the fake gateway in the foreground until interrupted."""
    import uvicorn

    gateway = FakeSmsGateway(key, behaviour=behaviour, log_path=log_path)
    uvicorn.run(gateway.app, host=host, port=port, log_level="warning")
