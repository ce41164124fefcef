"""The reference receiver: a township 村村响 controller that riskmap can deliver to.

It does what a real controller must do with a broadcast: refuse anything not signed with the
terminal's current key or signed more than five minutes ago, play each message once however
often it arrives, never play an old version after a newer one (an alert after its cancel), and
confirm play-out to riskmap with a signed ack. Tests, ``make demo`` and benchmarks run it; a
vendor can read it as the contract.

Endpoints: ``POST /broadcast/{village code}`` (riskmap JSON or EBM XML by Content-Type),
``GET /journal?since=ID`` and ``GET /healthz``; with an MQTT URL it also subscribes to
``riskmap/broadcast/#`` (QoS 1) and takes the signed envelopes found there.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiomqtt
import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from riskmap.api.dispatch import signing
from riskmap.api.dispatch.keys import parse_key_id
from riskmap.api.receiver.inbound import BadMessageError, KeyFile, from_ebm, from_json
from riskmap.api.receiver.journal import Incoming, Journal, Taken, utc_now

log = logging.getLogger("riskmap.receiver")
TOPIC = "riskmap/broadcast/#"
JSON_TYPES = frozenset({"application/json"})
XML_TYPES = frozenset({"application/xml", "text/xml"})
# how old an MQTT envelope's signature may be (the broker queued it while we were away)
MQTT_WINDOW_S = 24 * 3600


@dataclass(frozen=True)
class ReceiverConfig:
    keys_file: Path
    journal_file: Path
    mqtt_url: str | None = None
    ack: bool = True
    ack_delay_s: float = 0.0
    ack_attempts: int = 8
    ack_wait_max_s: float = 30.0
    ack_timeout_s: float = 10.0
    audio: bool = True  # fetch the broadcast's audio before acknowledging (as a speaker plays it)
    audio_timeout_s: float = 120.0
    max_body: int = 1 << 20


class RefusedError(Exception):
    """A message the controller will not take, with the HTTP status that says why."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class _AckRetryError(Exception):
    """riskmap is busy or unreachable: try the ack again."""


class _AckRefusedErrorError(Exception):
    """riskmap refused the ack for good (bad key, unknown broadcast)."""


class Receiver:
    """State shared by the HTTP routes and the MQTT subscriber."""

    def __init__(self, config: ReceiverConfig) -> None:
        self.config = config
        self.keys = KeyFile(config.keys_file)
        self.journal: Journal | None = None
        self.refused = 0
        self._waiting: list[tuple[Incoming, asyncio.Future]] = []
        self._writer: asyncio.Task | None = None
        self.audio_fetched = 0
        self.audio_failed = 0
        self.mqtt_state = "connecting" if config.mqtt_url else "off"
        self._http: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task] = set()
        self._acking: set[int] = set()

    # -- life ------------------------------------------------------------------------------

    async def start(self) -> None:
        self.journal = await asyncio.to_thread(Journal, self.config.journal_file)
        self._http = httpx.AsyncClient(timeout=self.config.ack_timeout_s)
        if self.config.ack:
            for row in await asyncio.to_thread(self.journal.unacked):
                self._spawn_ack(row)
        if self.config.mqtt_url:
            self._spawn(self._mqtt_loop(self.config.mqtt_url))

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.aclose()
        if self.journal is not None:
            self.journal.close()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- taking a message ------------------------------------------------------------------

    def refuse(self, status: int, reason: str) -> RefusedError:
        self.refused += 1
        log.warning("refused (%d): %s", status, reason)
        return RefusedError(status, reason)

    def verify(self, headers: Any, body: bytes) -> str:
        try:
            return signing.verify(headers, body, self.keys.lookup)
        except signing.SignatureError as exc:
            raise self.refuse(401, str(exc)) from None

    async def take(self, msg: Incoming, village_code: str) -> Taken:
        """Journal (and so play) a verified message, then ack it in the background."""
        owner = parse_key_id(msg.key_id)
        if owner is None or owner[0] != msg.terminal_id:
            raise self.refuse(401, f"key {msg.key_id} does not belong to {msg.terminal_id}")
        if msg.village_code != village_code:
            raise self.refuse(400, f"message for village {msg.village_code} sent to {village_code}")
        assert self.journal is not None
        taken = await self._group_take(msg)
        row = taken.row
        log.info("%s: broadcast %s v%s", taken.outcome, row["broadcast_id"], row["version"])
        owed = row["outcome"] == "played" and row["acked_at"] is None
        if self.config.ack and owed:
            self._spawn_ack(row)
        return taken

    async def _group_take(self, msg: Incoming) -> Taken:
        """Journal ``msg`` together with whatever else arrived meanwhile (one commit, one
        fsync); answers only once the commit is on disk, as before."""
        fut: asyncio.Future[Taken] = asyncio.get_running_loop().create_future()
        self._waiting.append((msg, fut))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_waiting())
        return await fut

    async def _write_waiting(self) -> None:
        assert self.journal is not None
        while self._waiting:
            batch, self._waiting = self._waiting[:500], self._waiting[500:]
            try:
                results = await asyncio.to_thread(self.journal.take_many, [m for m, _ in batch])
            except Exception as exc:  # the whole commit failed: every message in it fails
                results = [exc] * len(batch)
            for (_, fut), result in zip(batch, results, strict=True):
                if fut.done():
                    continue
                if isinstance(result, Exception):
                    fut.set_exception(result)
                else:
                    fut.set_result(result)

    async def take_http(self, request: Request) -> Taken:
        size = request.headers.get("content-length", "0")
        if not size.isdigit() or int(size) > self.config.max_body:
            raise self.refuse(413, f"body over {self.config.max_body} bytes")
        body = await request.body()
        if len(body) > self.config.max_body:
            raise self.refuse(413, f"body over {self.config.max_body} bytes")
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind not in JSON_TYPES | XML_TYPES:
            raise self.refuse(415, f"Content-Type {kind!r}: send application/json or XML")
        kid = self.verify(request.headers, body)
        code = request.path_params["code"]
        try:
            if kind in JSON_TYPES:
                msg = from_json(body, kid, "http-json")
            else:
                msg = from_ebm(body, kid, request.headers.get("idempotency-key"), code)
        except BadMessageError as exc:
            raise self.refuse(400, str(exc)) from None
        return await self.take(msg, code)

    async def take_mqtt(self, topic: str, payload: bytes) -> Taken | None:
        """A signed envelope from the broker; refusals are logged and counted (no one to tell)."""
        # The broker keeps QoS 1 messages for a terminal that was off: a message signed an
        # hour ago is still news while its warning is in force. So over MQTT the signature may
        # be up to a day old, the warning must not have ended, and repeats are dropped by key.
        try:
            kid, body = signing.open_envelope(payload, self.keys.lookup, window_s=MQTT_WINDOW_S)
            end = json.loads(body).get("end")
            if end and datetime.fromisoformat(end) <= datetime.now(UTC):
                self.refuse(410, f"MQTT {topic}: the warning ended at {end}")
                return None
        except signing.SignatureError as exc:
            self.refuse(401, f"MQTT {topic}: {exc}")
            return None
        except (ValueError, AttributeError) as exc:
            self.refuse(400, f"MQTT {topic}: {exc}")
            return None
        try:
            return await self.take(from_json(body, kid, "mqtt"), topic.rsplit("/", 1)[-1])
        except BadMessageError as exc:
            self.refuse(400, f"MQTT {topic}: {exc}")
        except RefusedError:
            pass
        return None

    # -- acknowledging ---------------------------------------------------------------------

    def _spawn_ack(self, row: dict[str, Any]) -> None:
        if row["id"] in self._acking or not row["ack_url"]:
            return
        self._acking.add(row["id"])
        self._spawn(self._ack(row))

    async def _ack(self, row: dict[str, Any]) -> None:
        """POST the signed ack, retrying with backoff; the result is written to the journal."""
        assert self.journal is not None
        try:
            if self.config.audio:
                await self._fetch_audio(row)
            if self.config.ack_delay_s:
                await asyncio.sleep(self.config.ack_delay_s)
            body = json.dumps(
                {
                    "broadcast_id": row["broadcast_id"],
                    "idempotency_key": row["idempotency_key"],
                    "terminal_id": row["terminal_id"],
                    "village_code": row["village_code"],
                    "result": "played",
                    "played_at": row["played_at"],
                },
                ensure_ascii=False,
            ).encode()
            retrying = AsyncRetrying(
                stop=stop_after_attempt(self.config.ack_attempts),
                wait=wait_exponential(multiplier=0.2, max=self.config.ack_wait_max_s),
                retry=retry_if_exception_type(_AckRetryError),
                reraise=True,
            )
            async for attempt in retrying:
                with attempt:
                    await self._post_ack(row, body)
        except (_AckRetryError, _AckRefusedErrorError) as exc:
            log.warning("ack of broadcast %s failed: %s", row["broadcast_id"], exc)
            await asyncio.to_thread(self.journal.ack_failed, row["id"], str(exc))
        else:
            await asyncio.to_thread(self.journal.acked, row["id"])
        finally:
            self._acking.discard(row["id"])

    async def _fetch_audio(self, row: dict[str, Any]) -> None:
        """Fetch what the loudspeaker plays: the audio sits beside the ack URL
        (/api/broadcasts/{id}/ack → /api/broadcasts/{id}/audio.wav). A failure is counted and
        logged; the ack still goes (a controller would fall back to its own synthesiser)."""
        url = row["ack_url"]
        if not url or not url.endswith("/ack"):
            return
        assert self._http is not None
        try:
            answer = await self._http.get(
                url[: -len("/ack")] + "/audio.wav", timeout=self.config.audio_timeout_s
            )
            ok = answer.status_code == 200 and answer.content[:4] == b"RIFF"
        except httpx.HTTPError as exc:
            ok = False
            log.warning("audio of broadcast %s: %s", row["broadcast_id"], exc)
        if ok:
            self.audio_fetched += 1
        else:
            self.audio_failed += 1

    async def _post_ack(self, row: dict[str, Any], body: bytes) -> None:
        signer = self.keys.signing_key(row["key_id"], row["terminal_id"])
        if signer is None:
            raise _AckRefusedErrorError(f"no key for terminal {row['terminal_id']} to sign the ack")
        headers = signing.signed_headers(*signer, body) | {"Content-Type": "application/json"}
        assert self._http is not None
        try:
            answer = await self._http.post(row["ack_url"], content=body, headers=headers)
        except httpx.TransportError as exc:
            raise _AckRetryError(f"{type(exc).__name__}: {exc}") from None
        code = answer.status_code
        if code < 300:
            return
        error = f"HTTP {code}: {answer.text[:200]}"
        if code in (408, 425, 429) or code >= 500:
            raise _AckRetryError(error)
        raise _AckRefusedErrorError(error)

    # -- MQTT ------------------------------------------------------------------------------

    async def _mqtt_loop(self, url: str) -> None:
        """Stay subscribed; a persistent session (fixed client id, clean_session off) lets the
        broker keep QoS 1 messages that arrive while the controller is away."""
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 1883
        ident = (
            "riskmap-receiver-"
            + hashlib.sha1(str(self.config.journal_file.resolve()).encode()).hexdigest()[:12]
        )
        delay = 0.5
        while True:
            try:
                async with aiomqtt.Client(
                    host, port, identifier=ident, clean_session=False
                ) as client:
                    await client.subscribe(TOPIC, qos=1)
                    self.mqtt_state, delay = "connected", 0.5
                    log.info("subscribed to %s on %s:%d", TOPIC, host, port)
                    async for message in client.messages:
                        await self.take_mqtt(str(message.topic), bytes(message.payload))
            except aiomqtt.MqttError as exc:
                self.mqtt_state = "disconnected"
                log.warning("MQTT %s:%d: %s; again in %.1f s", host, port, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    # -- reading ---------------------------------------------------------------------------

    async def health(self) -> dict[str, Any]:
        assert self.journal is not None
        counts = await asyncio.to_thread(self.journal.counts)
        return {
            **counts,
            "refused": self.refused,
            "audio_fetched": self.audio_fetched,
            "audio_failed": self.audio_failed,
            "mqtt": self.mqtt_state,
            "at": utc_now(),
        }


def _answer(taken: Taken) -> JSONResponse:
    return JSONResponse({taken.outcome: True, "journal_id": taken.row["id"]})


def create_app(config: ReceiverConfig) -> Starlette:
    """The receiver as an ASGI app (uvicorn serves it; tests too, on a loopback port)."""
    receiver = Receiver(config)

    async def broadcast(request: Request) -> JSONResponse:
        try:
            return _answer(await receiver.take_http(request))
        except RefusedError as exc:
            return JSONResponse({"refused": True, "reason": str(exc)}, status_code=exc.status)

    async def journal(request: Request) -> JSONResponse:
        try:
            since = int(request.query_params.get("since", "0"))
            limit = min(int(request.query_params.get("limit", "1000")), 1000)
        except ValueError:
            return JSONResponse({"error": "since and limit are integers"}, status_code=400)
        assert receiver.journal is not None
        return JSONResponse(await asyncio.to_thread(receiver.journal.since, since, limit))

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse(await receiver.health())

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await receiver.start()
        try:
            yield
        finally:
            await receiver.stop()

    app = Starlette(
        routes=[
            Route("/broadcast/{code}", broadcast, methods=["POST"]),
            Route("/journal", journal, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.receiver = receiver
    return app
