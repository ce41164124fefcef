"""Village broadcast terminals (村村响) that listen on an MQTT broker, and the connections to it.

A terminal subscribes to ``riskmap/broadcast/<village code>`` (its endpoint names the broker and
the topic). MQTT 3.1.1 has no headers, so each message is a signed envelope
(``signing.envelope``) around the same JSON document HTTP terminals receive. Messages go at
QoS 1 and count as delivered only once the broker has acknowledged them (PUBACK); a terminal
that is off gets them from its persistent session when it reconnects, which is the broker's
job, not ours.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import socket
import ssl
import time
import weakref
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import aiomqtt

from riskmap.api.dispatch import signing
from riskmap.api.dispatch.adapters.render import broadcast_body
from riskmap.api.dispatch.model import Links, Message, Outcome

TOPIC_PREFIX = "riskmap/broadcast"
DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}


@dataclass(frozen=True)
class BrokerAddress:
    """Where to publish: host, port, TLS and optional credentials (from an ``mqtt://`` URL)."""

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = None

    def __str__(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def parse_url(url: str) -> tuple[BrokerAddress, str]:
    """(broker, topic path without the leading slash) of ``mqtt[s]://[user:pw@]host[:port]/t``."""
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"not an MQTT broker URL: {url!r}")
    if "#" in url or "+" in parts.path or parts.query:  # a URL parser reads # as a fragment
        raise ValueError(f"a topic to publish to has no wildcards or query: {url!r}")
    address = BrokerAddress(
        host=parts.hostname,
        port=parts.port or DEFAULT_PORTS[parts.scheme],
        tls=parts.scheme == "mqtts",
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )
    return address, unquote(parts.path).lstrip("/")


class _ConnectionLostError(ConnectionError):
    """The broker closed the connection while a publish waited for its PUBACK."""


class BrokerConnections:
    """One connected client per broker, shared by every delivery to it; reconnects on demand.

    Connecting runs as a task of its own that a delivery's timeout does not cancel: an attempt
    cut short leaves the connection coming up for the next delivery (never a half-made client
    holding a socket nobody reads), and deliveries arriving together share one attempt.
    """

    def __init__(self, *, timeout_s: float, client_id_prefix: str) -> None:
        self.timeout_s = timeout_s
        self.client_id_prefix = client_id_prefix
        self._clients: dict[BrokerAddress, aiomqtt.Client] = {}
        self._connecting: dict[BrokerAddress, asyncio.Task[aiomqtt.Client]] = {}
        self._closing: set[asyncio.Task] = set()
        self._dropped: weakref.WeakSet[aiomqtt.Client] = weakref.WeakSet()  # closed once
        self._ids = itertools.count(1)
        self._host = socket.gethostname()[:40]

    async def publish(
        self,
        broker: BrokerAddress,
        topic: str,
        payload: bytes,
        *,
        deadline: float,
        retain: bool = False,
    ) -> None:
        """Publish at QoS 1 and return once the broker acknowledged it.

        Raises :class:`TimeoutError` at ``deadline`` (``time.monotonic()``), ``aiomqtt.MqttError``
        or ``OSError`` when the broker cannot be reached. A connection found dead (the broker
        restarted since the last message) is replaced once within the same deadline; the
        message may then reach the broker twice, which receivers drop by idempotency key.
        """
        for attempt in (1, 2):
            client = await asyncio.wait_for(self._client(broker), _left(deadline))
            try:
                await _publish_acknowledged(client, topic, payload, retain, _left(deadline))
                return
            except (_ConnectionLostError, aiomqtt.MqttCodeError):
                self._drop(broker, client)  # stale: the broker went away since we connected
                if attempt == 2:
                    raise
            except aiomqtt.MqttError as exc:  # no PUBACK in time: the connection is suspect
                self._drop(broker, client)
                raise TimeoutError(str(exc)) from None

    async def aclose(self) -> None:
        """Close every connection; connections still coming up are waited for (a cancelled
        aiomqtt connect leaves its socket behind) within their own timeouts, then closed."""
        pending = list(self._connecting.values())
        if pending:
            await asyncio.wait(pending, timeout=2 * self.timeout_s + 1)
        clients = {id(c): c for c in self._clients.values()}
        for task in pending:
            if task.done() and not task.cancelled() and task.exception() is None:
                clients.setdefault(id(task.result()), task.result())
            else:
                task.cancel()
        self._clients.clear()
        for client in clients.values():
            self._drop(None, client)
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

    async def _client(self, broker: BrokerAddress) -> aiomqtt.Client:
        client = self._clients.get(broker)
        if client is not None:
            if not _disconnected(client):
                return client
            self._drop(broker, client)
        task = self._connecting.get(broker)
        if task is None:
            task = asyncio.create_task(self._connect(broker))
            self._connecting[broker] = task
            task.add_done_callback(lambda t: self._connected(broker, t))
        return await asyncio.shield(task)

    async def _connect(self, broker: BrokerAddress) -> aiomqtt.Client:
        client = aiomqtt.Client(
            broker.host,
            broker.port,
            username=broker.username,
            password=broker.password,
            identifier=f"{self.client_id_prefix}-{self._host}-{os.getpid()}-{next(self._ids)}",
            clean_session=True,  # nothing to resume: an unacknowledged message is retried whole
            timeout=self.timeout_s,  # CONNACK
            keepalive=30,
            tls_context=ssl.create_default_context() if broker.tls else None,
        )
        # TCP connect runs in a worker thread; bound it too (paho's default is 5 s)
        client._client.connect_timeout = self.timeout_s
        client.pending_calls_threshold = 100_000  # a burst of broadcasts is normal, not a leak
        try:
            await client.__aenter__()
        except Exception:
            # a broker that accepted TCP but refused or ignored CONNECT leaves paho's socket
            # open and watched by the loop: a DISCONNECT makes paho close it
            with contextlib.suppress(Exception):
                client._client.disconnect()
            raise
        return client

    def _connected(self, broker: BrokerAddress, task: asyncio.Task) -> None:
        if self._connecting.get(broker) is task:
            del self._connecting[broker]
        if task.cancelled():
            return
        if task.exception() is None:  # also marks a failure as seen when nobody waited for it
            self._clients[broker] = task.result()

    def _drop(self, broker: BrokerAddress | None, client: aiomqtt.Client) -> None:
        if broker is not None and self._clients.get(broker) is client:
            del self._clients[broker]
        if client in self._dropped:  # several deliveries found the same connection dead
            return
        self._dropped.add(client)
        closing = asyncio.create_task(self._close(client))
        self._closing.add(closing)
        closing.add_done_callback(self._closing.discard)

    async def _close(self, client: aiomqtt.Client) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.__aexit__(None, None, None), self.timeout_s)


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("deadline passed")
    return left


def _disconnected(client: aiomqtt.Client) -> bool:
    # aiomqtt 2.x resolves this future when the connection drops (there is no public flag)
    gone = client._disconnected
    if gone.done() and not gone.cancelled():
        gone.exception()  # seen: no "exception was never retrieved" on the log
    return gone.done()


async def _publish_acknowledged(
    client: aiomqtt.Client, topic: str, payload: bytes, retain: bool, timeout: float
) -> None:
    """``client.publish`` at QoS 1 returns on the broker's PUBACK (paho's ``on_publish``), but
    aiomqtt 2.x leaves it waiting for its timeout when the connection drops meanwhile; racing
    it against the disconnection says at once that the connection is gone."""
    gone = client._disconnected
    publish = asyncio.ensure_future(
        client.publish(topic, payload, qos=1, retain=retain, timeout=timeout)
    )
    try:
        await asyncio.wait({publish, gone}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        publish.cancel()
        raise
    if publish.done():
        publish.result()
        return
    publish.cancel()
    with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
        await publish
    _disconnected(client)
    raise _ConnectionLostError("the broker closed the connection before acknowledging")


def failure(broker: BrokerAddress, exc: BaseException, timeout_s: float) -> Outcome:
    """A retryable Outcome for a broker that is away, slow or refusing us."""
    if isinstance(exc, TimeoutError):
        error = f"broker {broker} did not connect or acknowledge within {timeout_s:g} s"
    else:
        error = f"broker {broker} unreachable: {type(exc).__name__}: {exc}"
    return Outcome(delivered=False, retry=True, error=error[:500])


class MqttAdapter:
    """Delivers ``broadcast`` rows of terminals whose protocol is ``mqtt``."""

    def __init__(
        self, links: Links, *, timeout_s: float, client_id_prefix: str = "riskmap-dispatch"
    ) -> None:
        self.links = links
        self.timeout_s = timeout_s
        self.brokers = BrokerConnections(timeout_s=timeout_s, client_id_prefix=client_id_prefix)

    async def deliver(self, msg: Message) -> Outcome:
        deadline = time.monotonic() + self.timeout_s
        if not msg.key_id or not msg.secret:
            return Outcome(delivered=False, retry=False, error="terminal has no signing key")
        try:
            if msg.payload.get("protocol") != "mqtt":
                raise ValueError(f"protocol {msg.payload.get('protocol')!r} is not MQTT")
            broker, topic = parse_url(str(msg.payload["endpoint"]))
            topic = topic or f"{TOPIC_PREFIX}/{msg.payload['village_code']}"
            doc = broadcast_body(msg, self.links)
        except (KeyError, ValueError) as exc:  # a payload no retry can fix
            return Outcome(delivered=False, retry=False, error=f"cannot send: {exc!r}"[:300])
        body = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
        envelope = signing.envelope(msg.key_id, msg.secret, body)
        try:
            await self.brokers.publish(broker, topic, envelope, deadline=deadline)
        except (TimeoutError, aiomqtt.MqttError, OSError) as exc:
            return failure(broker, exc, self.timeout_s)
        return Outcome(
            delivered=True, retry=False, detail={"broker": str(broker), "topic": topic, "qos": 1}
        )

    async def aclose(self) -> None:
        await self.brokers.aclose()
