"""The CAP feed: pulled as ATOM (``/api/cap/feed.atom``), and pushed over MQTT when configured.

Consumers that would rather be told than poll (a city platform, a media desk) subscribe to
``riskmap/cap/<status>`` (actual, exercise, test, ...) and fetch the CAP document from the link.
Without a broker there is nothing to push: the row is done once the ATOM feed lists the version,
which it does from the moment the version is published.
"""

from __future__ import annotations

import json
import time

import aiomqtt

from riskmap.api.dispatch.adapters.mqtt import BrokerConnections, failure, parse_url
from riskmap.api.dispatch.model import Links, Message, Outcome

TOPIC_PREFIX = "riskmap/cap"


class CapFeedAdapter:
    """Delivers ``cap-feed`` rows: a small JSON notice per published version, at QoS 1."""

    def __init__(
        self,
        links: Links,
        broker_url: str | None,
        timeout_s: float,
        *,
        client_id_prefix: str = "riskmap-cap-feed",
    ) -> None:
        self.links = links
        self.timeout_s = timeout_s
        self.broker = parse_url(broker_url)[0] if broker_url else None
        self.brokers = BrokerConnections(timeout_s=timeout_s, client_id_prefix=client_id_prefix)

    async def deliver(self, msg: Message) -> Outcome:
        if self.broker is None:
            return Outcome(delivered=True, retry=False, detail={"published": "atom"})
        deadline = time.monotonic() + self.timeout_s
        p = msg.payload
        try:
            status = str(p["cap_status"])
            notice = {
                "identifier": p["identifier"],
                "sender": p["sender"],
                "sent": p["sent"],
                "msg_type": p["msg_type"],
                "status": status,
                "colour": p["colour"],
                "cap_url": self.links.cap(msg.warning_id, msg.version),
            }
        except KeyError as exc:
            return Outcome(delivered=False, retry=False, error=f"cannot send: missing {exc}")
        topic = f"{TOPIC_PREFIX}/{status.lower()}"
        body = json.dumps(notice, ensure_ascii=False, separators=(",", ":")).encode()
        try:
            await self.brokers.publish(self.broker, topic, body, deadline=deadline, retain=False)
        except (TimeoutError, aiomqtt.MqttError, OSError) as exc:
            return failure(self.broker, exc, self.timeout_s)
        return Outcome(
            delivered=True,
            retry=False,
            detail={"published": "mqtt", "broker": str(self.broker), "topic": topic},
        )

    async def aclose(self) -> None:
        await self.brokers.aclose()
