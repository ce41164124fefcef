"""MQTT delivery against a real Mosquitto: signed envelopes at QoS 1, a broker that restarts or
is away, terminals that were off, and the CAP feed notices.

Expected values are written out here (topics, links, key ids, texts), not taken from the code.
"""

from __future__ import annotations

import asyncio
import json
import re
import time

import aiomqtt
import pytest

from riskmap.api.dispatch import signing
from riskmap.api.dispatch.adapters.cap_feed import CapFeedAdapter
from riskmap.api.dispatch.adapters.mqtt import MqttAdapter
from riskmap.api.dispatch.broker import Broker, free_port
from riskmap.api.dispatch.model import Links, Message
from tests.dispatch.delivery_setup import wait_until

LINKS = Links("http://riskmap.test")
TERMINAL = "BT431226100201"
VILLAGE = "431226100201"
KEY_ID = "BT431226100201:v1"
SECRET = b"0123456789abcdef0123456789abcdef"
TOPIC = "riskmap/broadcast/431226100201"
TEXT = "麻阳苗族自治县山洪灾害立即转移预警。危险区人员立即按转移路线撤离到安置点。"


def lookup(key_id: str) -> list[bytes]:
    return [SECRET] if key_id == KEY_ID else []


def broadcast(outbox_id: int, endpoint: str, *, protocol: str = "mqtt", **kw) -> Message:
    payload = {
        "cap_identifier": "CN-431226-20260714-0007-v2",
        "msg_type": "Alert",
        "cap_status": "Actual",
        "level": "红色",
        "colour": "red",
        "hazard": "flash_flood",
        "event_zh": "山洪灾害",
        "headline_zh": "麻阳苗族自治县山洪灾害立即转移预警",
        "terminal_id": TERMINAL,
        "village_code": VILLAGE,
        "villages": [VILLAGE, "431226100202"],
        "text": TEXT,
        "language": "zh-CN",
        "repeat": 3,
        "repeat_interval_s": 60,
        "effective": "2026-07-14T10:00:00+08:00",
        "expires": "2026-07-14T22:00:00+08:00",
        "protocol": protocol,
        "endpoint": endpoint,
    }
    return Message(
        id=outbox_id,
        warning_id=7,
        version=2,
        channel="broadcast",
        target=TERMINAL,
        payload=payload,
        idempotency_key=f"warning:7:v2:broadcast:{TERMINAL}:{outbox_id}",
        attempt=1,
        key_id=kw.get("key_id", KEY_ID),
        secret=kw.get("secret", SECRET),
    )


def endpoint(broker: Broker) -> str:
    return f"mqtt://127.0.0.1:{broker.port}/{TOPIC}"


async def collect(client: aiomqtt.Client, n: int, timeout: float = 5) -> list[aiomqtt.Message]:
    got: list[aiomqtt.Message] = []
    async with asyncio.timeout(timeout):
        async for m in client.messages:
            got.append(m)
            if len(got) == n:
                break
    return got


def subscriber(broker: Broker, **kw) -> aiomqtt.Client:
    return aiomqtt.Client("127.0.0.1", broker.port, timeout=5, **kw)


def opened(m: aiomqtt.Message) -> dict:
    kid, body = signing.open_envelope(m.payload, lookup)
    assert kid == KEY_ID
    return json.loads(body)


def test_publishes_a_signed_envelope_at_qos1(mosquitto: Broker) -> None:
    async def run():
        adapter = MqttAdapter(LINKS, timeout_s=5)
        try:
            async with subscriber(mosquitto) as sub:
                await sub.subscribe("riskmap/broadcast/#", qos=1)
                outcome = await adapter.deliver(broadcast(41, endpoint(mosquitto)))
                (m,) = await collect(sub, 1)
        finally:
            await adapter.aclose()
        return outcome, m

    outcome, m = asyncio.run(run())
    assert outcome.delivered and not outcome.error
    assert str(m.topic) == TOPIC
    assert m.qos == 1
    doc = opened(m)
    assert doc["text"] == TEXT
    assert doc["broadcast_id"] == 41
    assert doc["idempotency_key"] == "warning:7:v2:broadcast:BT431226100201:41"
    assert doc["village_code"] == VILLAGE
    assert doc["links"] == {
        "cap": "http://riskmap.test/api/warnings/7.cap?version=2",
        "audio_wav": "http://riskmap.test/api/broadcasts/41/audio.wav",
        "audio_mp3": "http://riskmap.test/api/broadcasts/41/audio.mp3",
        "ack": "http://riskmap.test/api/broadcasts/41/ack",
    }
    # the envelope is worthless with another key, or altered
    with pytest.raises(signing.SignatureError):
        signing.open_envelope(m.payload, lambda k: [b"another secret"])
    env = json.loads(m.payload)
    env["body"] = env["body"].replace("立即转移", "解除转移")
    with pytest.raises(signing.SignatureError):
        signing.open_envelope(json.dumps(env).encode(), lookup)


def test_topic_is_built_when_the_endpoint_has_no_path(mosquitto: Broker) -> None:
    async def run():
        adapter = MqttAdapter(LINKS, timeout_s=5)
        try:
            async with subscriber(mosquitto) as sub:
                await sub.subscribe("riskmap/#", qos=1)
                outcome = await adapter.deliver(broadcast(42, mosquitto.url))
                (m,) = await collect(sub, 1)
        finally:
            await adapter.aclose()
        return outcome, m

    outcome, m = asyncio.run(run())
    assert outcome.delivered
    assert str(m.topic) == "riskmap/broadcast/431226100201"


def test_many_at_once_share_one_connection(mosquitto: Broker) -> None:
    prefix = "riskmap-many"

    async def run():
        adapter = MqttAdapter(LINKS, timeout_s=10, client_id_prefix=prefix)
        try:
            async with subscriber(mosquitto) as sub:
                await sub.subscribe(TOPIC, qos=1)
                ids = range(100, 150)
                outcomes = await asyncio.gather(
                    *(adapter.deliver(broadcast(i, endpoint(mosquitto))) for i in ids)
                )
                got = await collect(sub, len(ids), timeout=10)
        finally:
            await adapter.aclose()
        return outcomes, got

    outcomes, got = asyncio.run(run())
    assert all(o.delivered for o in outcomes)
    assert sorted(opened(m)["broadcast_id"] for m in got) == list(range(100, 150))
    connected = re.compile(rf"New client connected from \S+ as {prefix}-")

    def logged() -> list[str]:  # the broker writes its log line as the client connects
        return connected.findall(mosquitto.log_file.read_text(encoding="utf-8"))

    assert len(wait_until(logged, 10, "the broker's log of the connection")) == 1


def test_reconnects_by_itself_after_a_broker_restart(own_broker: Broker) -> None:
    """The terminal keeps a persistent session; the broker restarts between two messages and
    the second is delivered in the same call, on a new connection."""

    async def run():
        adapter = MqttAdapter(LINKS, timeout_s=5)
        try:
            sub = subscriber(own_broker, identifier=TERMINAL, clean_session=False)
            await sub.__aenter__()
            await sub.subscribe(TOPIC, qos=1)
            first = await adapter.deliver(broadcast(51, endpoint(own_broker)))
            got = await collect(sub, 1)
            own_broker.restart()  # blocking: the adapter's connection is dead but not yet seen
            second = await adapter.deliver(broadcast(52, endpoint(own_broker)))
            with pytest.raises(aiomqtt.MqttError):  # the terminal's connection went too
                await collect(sub, 1)
            # the terminal comes back to its session and gets what came while it was away
            async with subscriber(own_broker, identifier=TERMINAL, clean_session=False) as again:
                got += await collect(again, 1)
        finally:
            await adapter.aclose()
        return first, second, got

    first, second, got = asyncio.run(run())
    assert first.delivered
    assert second.delivered, second.error
    assert [opened(m)["broadcast_id"] for m in got] == [51, 52]


def test_messages_for_an_offline_terminal_survive_a_broker_restart(own_broker: Broker) -> None:
    async def run():
        async with subscriber(own_broker, identifier=TERMINAL, clean_session=False) as sub:
            await sub.subscribe(TOPIC, qos=1)
        # the terminal is off now; three messages are queued in its session
        adapter = MqttAdapter(LINKS, timeout_s=5)
        try:
            outcomes = [
                await adapter.deliver(broadcast(i, endpoint(own_broker))) for i in (61, 62, 63)
            ]
        finally:
            await adapter.aclose()
        own_broker.restart()  # from the persistence file
        async with subscriber(own_broker, identifier=TERMINAL, clean_session=False) as sub:
            got = await collect(sub, 3)
        return outcomes, got

    outcomes, got = asyncio.run(run())
    assert all(o.delivered for o in outcomes)
    assert [opened(m)["broadcast_id"] for m in got] == [61, 62, 63]
    assert [m.qos for m in got] == [1, 1, 1]


def test_broker_down_is_a_retry(own_broker: Broker) -> None:
    url = endpoint(own_broker)
    own_broker.stop()

    async def run():
        adapter = MqttAdapter(LINKS, timeout_s=3)
        try:
            t0 = time.monotonic()
            outcome = await adapter.deliver(broadcast(71, url))
            return outcome, time.monotonic() - t0
        finally:
            await adapter.aclose()

    outcome, took = asyncio.run(run())
    assert not outcome.delivered
    assert outcome.retry
    assert f"127.0.0.1:{own_broker.port}" in outcome.error
    assert "unreachable" in outcome.error
    assert took < 3


def test_a_broker_that_never_answers_times_out_as_a_retry() -> None:
    """A TCP listener that accepts and says nothing (no CONNACK): the timeout holds."""

    async def run():
        hung_up = asyncio.Event()

        async def silent(reader, writer):
            while await reader.read(1 << 16):  # reads CONNECT, answers nothing
                pass
            hung_up.set()
            writer.close()

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        adapter = MqttAdapter(LINKS, timeout_s=1.5)
        try:
            t0 = time.monotonic()
            outcome = await adapter.deliver(broadcast(72, f"mqtt://127.0.0.1:{port}/{TOPIC}"))
            return outcome, time.monotonic() - t0
        finally:
            await adapter.aclose()
            # the half-made connection is closed, not left open and watched by the loop
            await asyncio.wait_for(hung_up.wait(), 2)
            server.close()

    outcome, took = asyncio.run(run())
    assert not outcome.delivered and outcome.retry
    assert "1.5 s" in outcome.error
    assert 1.4 < took < 2.5


def test_refused_for_good() -> None:
    """Nothing a retry could fix: no key, not an MQTT terminal, not an MQTT endpoint."""
    port = free_port()

    async def run():
        adapter = MqttAdapter(LINKS, timeout_s=2)
        try:
            return [
                await adapter.deliver(broadcast(81, f"mqtt://127.0.0.1:{port}", key_id=None)),
                await adapter.deliver(
                    broadcast(82, f"mqtt://127.0.0.1:{port}", protocol="http-json")
                ),
                await adapter.deliver(broadcast(83, "http://127.0.0.1:9/broadcast")),
                await adapter.deliver(broadcast(84, f"mqtt://127.0.0.1:{port}/riskmap/#")),
            ]
        finally:
            await adapter.aclose()

    for outcome in asyncio.run(run()):
        assert not outcome.delivered
        assert not outcome.retry, outcome.error


def cap_row(status: str = "Exercise") -> Message:
    payload = {
        "identifier": "CN-431226-20260714-0007-v2",
        "sender": "431226000000@riskmap",
        "sent": "2026-07-14T10:00:00+08:00",
        "msg_type": "Update",
        "cap_status": status,
        "colour": "orange",
        "references": "431226000000@riskmap,CN-431226-20260714-0007-v1,2026-07-14T09:00:00+08:00",
    }
    return Message(
        id=90,
        warning_id=7,
        version=2,
        channel="cap-feed",
        target="cap-feed",
        payload=payload,
        idempotency_key="warning:7:v2:cap-feed",
        attempt=1,
    )


def test_cap_feed_notice_over_mqtt(mosquitto: Broker) -> None:
    async def run():
        adapter = CapFeedAdapter(LINKS, broker_url=mosquitto.url, timeout_s=5)
        try:
            async with subscriber(mosquitto) as sub:
                await sub.subscribe("riskmap/cap/#", qos=1)
                outcome = await adapter.deliver(cap_row())
                (m,) = await collect(sub, 1)
        finally:
            await adapter.aclose()
        return outcome, m

    outcome, m = asyncio.run(run())
    assert outcome.delivered
    assert str(m.topic) == "riskmap/cap/exercise"
    assert m.qos == 1 and not m.retain
    assert json.loads(m.payload) == {
        "identifier": "CN-431226-20260714-0007-v2",
        "sender": "431226000000@riskmap",
        "sent": "2026-07-14T10:00:00+08:00",
        "msg_type": "Update",
        "status": "Exercise",
        "colour": "orange",
        "cap_url": "http://riskmap.test/api/warnings/7.cap?version=2",
    }


def test_cap_feed_without_a_broker_is_the_atom_feed() -> None:
    async def run():
        adapter = CapFeedAdapter(LINKS, broker_url=None, timeout_s=5)
        try:
            return await adapter.deliver(cap_row("Actual"))
        finally:
            await adapter.aclose()

    outcome = asyncio.run(run())
    assert outcome.delivered
    assert outcome.detail == {"published": "atom"}
