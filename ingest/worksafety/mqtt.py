"""Readings over MQTT: devices (or their gateways) publish JSON to ``riskmap/readings/<point id>``
(one reading or a list) or to ``riskmap/readings`` (a list naming each point), QoS 1, on the
broker the delivery work runs (Mosquitto). Readings go through a :class:`~.sink.ReadingSink`
of their own (ingest_log kind 'mqtt'); bad items and unknown points are quarantined with the
reason. aiomqtt is already the delivery adapters' client (paho-mqtt inside)."""

from __future__ import annotations

import asyncio
import logging
import os
from urllib.parse import urlsplit

import aiomqtt

from riskmap.ingest.worksafety.json_readings import parse_json_readings
from riskmap.ingest.worksafety.sink import ReadingSink, SinkOptions

log = logging.getLogger(__name__)
TOPIC = "riskmap/readings"


class MqttReadings:
    """Subscribe and store until cancelled; reconnects when the broker goes away."""

    def __init__(
        self,
        database_url: str,
        mqtt_url: str,
        options: SinkOptions | None = None,
        topic: str = TOPIC,
    ) -> None:
        parts = urlsplit(mqtt_url)
        if parts.scheme != "mqtt" or not parts.hostname:
            raise ValueError(f"MQTT URL {mqtt_url!r}: expected mqtt://host:port")
        self.host, self.port = parts.hostname, parts.port or 1883
        self.username, self.password = parts.username, parts.password
        self.topic = topic.rstrip("/")
        self.sink = ReadingSink(database_url, "mqtt", options)
        self.subscribed = asyncio.Event()

    async def run(self) -> None:
        """Open the sink, then read messages forever (cancel to stop; the sink is flushed)."""
        await self.sink.start(f"mqtt://{self.host}:{self.port}/{self.topic}")
        try:
            while True:
                try:
                    await self._session()
                except aiomqtt.MqttError as exc:
                    self.subscribed.clear()
                    log.warning("MQTT readings: %s; reconnecting in 2 s", exc)
                    await asyncio.sleep(2)
        finally:
            await self.sink.close()

    async def _session(self) -> None:
        async with aiomqtt.Client(
            self.host,
            self.port,
            username=self.username,
            password=self.password,
            identifier=f"riskmap-readings-{os.getpid()}",
            keepalive=30,
        ) as client:
            await client.subscribe([(self.topic, 1), (f"{self.topic}/+", 1)])
            self.subscribed.set()
            async for message in client.messages:
                await self.sink.room.wait()
                self.handle(message.topic.value, bytes(message.payload))

    def handle(self, topic: str, payload: bytes) -> None:
        """One message: its good readings to the sink, its bad items to the quarantine."""
        sink = self.sink
        sink.received(len(payload))
        point = topic[len(self.topic) + 1 :] or None
        record = f"message on {topic}"
        readings, bad = parse_json_readings(payload, point)
        for item, field, reason in bad:
            sink.refuse(f"{item} of {record}", field, reason, payload[:2000])
        for i, r in enumerate(readings, start=1):
            n = sink.by_id.get(r.point)
            if n is None:
                sink.refuse(
                    f"reading {i} of {record}", "point", f"unknown point '{r.point[:60]}'", None
                )
                continue
            sink.add(n, r.tm, r.value, r.flag)
