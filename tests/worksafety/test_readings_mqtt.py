"""Readings over MQTT for real: a Mosquitto broker on 127.0.0.1, a publisher, the subscriber
and PostGIS. Readings land; bad items and unknown points are quarantined with their reasons."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime

import aiomqtt
import psycopg
import pytest

from riskmap.api.dispatch.broker import Broker
from riskmap.ingest.worksafety.mqtt import MqttReadings
from riskmap.ingest.worksafety.sink import SinkOptions
from tests.worksafety.hj212_db import (  # noqa: F401 (fixtures)
    POINT_N,
    ws_template_fixture,
    ws_url_fixture,
)


@pytest.fixture
def broker(tmp_path) -> Iterator[Broker]:
    b = Broker(tmp_path / "mosquitto").start()
    yield b
    b.stop()


async def _publish_and_store(url: str, broker: Broker, messages: list[tuple[str, object]]):
    sub = MqttReadings(url, broker.url, SinkOptions(flush_ms=50))
    task = asyncio.create_task(sub.run())
    await asyncio.wait_for(sub.subscribed.wait(), timeout=10)
    async with aiomqtt.Client("127.0.0.1", broker.port, identifier="test-device") as pub:
        for topic, body in messages:
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            await pub.publish(topic, raw, qos=1)
    for _ in range(100):  # until every message is handled
        if sub.sink.stats["readings"] + sub.sink.stats["refused"] >= 6:
            break
        await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    return sub


def test_mqtt_readings_land_and_bad_items_are_quarantined(ws_url: str, broker: Broker) -> None:
    messages = [
        ("riskmap/readings/dam1-gp1", {"tm": "2026-06-07T08:55:00+08:00", "value": 1.5}),
        (
            "riskmap/readings",
            [
                {"point": "chem1-lel", "tm": "2026-06-07T00:55:00Z", "value": 12, "flag": "M"},
                {"point": "chem1-lel", "tm": "2026-06-07T08:56:00", "value": 13},  # no offset
                {"point": "nowhere", "tm": "2026-06-07T00:55:00Z", "value": 1},
                {"point": "dam1-pl", "tm": "2026-06-07T00:55:00Z", "value": "high"},
            ],
        ),
        ("riskmap/readings/dam1-pl", b"{not json"),
    ]
    sub = asyncio.run(_publish_and_store(ws_url, broker, messages))
    t = datetime(2026, 6, 7, 0, 55, tzinfo=UTC)
    with psycopg.connect(ws_url) as conn:
        rows = conn.execute("SELECT point_n, tm, value, flag FROM ws_reading ORDER BY 1").fetchall()
        q = conn.execute(
            "SELECT record, field, reason FROM quarantine WHERE ingest_id = %s ORDER BY id",
            [sub.sink.ingest_id],
        ).fetchall()
        kind = conn.execute(
            "SELECT kind, rows_loaded FROM ingest_log WHERE id = %s", [sub.sink.ingest_id]
        ).fetchone()
    assert rows == [(POINT_N["dam1-gp1"], t, 1.5, "N"), (POINT_N["chem1-lel"], t, 12.0, "M")]
    assert kind == ("mqtt", 2)
    reasons = [(field, reason.split(",")[0]) for _, field, reason in q]
    assert reasons[0] == ("tm", "Input should have timezone info")
    assert reasons[1] == ("value", "Input should be a valid number")
    assert reasons[2] == ("point", "unknown point 'nowhere'")
    assert reasons[3][0] is None and reasons[3][1].startswith("not JSON")
    assert len(q) == 4
