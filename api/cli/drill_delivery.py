"""Delivering a drill's messages: the real dispatcher, pointed at the drill's schema.

The dispatcher connects with ``search_path = drill_<id>, public``, so it claims the drill's
outbox only (the real dispatchers, on ``public``, never see it). Links in the messages lead
back to the drill's own API paths (``/api/drills/{id}/…``: its CAP, audio and the terminals'
acknowledgements), and expiry is judged on the drill's scenario clock, since a day replayed in
minutes would otherwise find every earlier hour's warning long over. The CAP-feed channel is
never delivered in a drill: it is how CAP consumers (the public feed's subscribers) hear of
warnings, and a drill must not reach them.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from riskmap.api.dispatch import service
from riskmap.api.dispatch.model import Adapter, Links
from riskmap.api.dispatch.runner import Dispatcher
from riskmap.geo.drills import twin
from riskmap.geo.settings import Settings


@dataclass(frozen=True)
class DrillLinks(Links):
    """Links of a drill's messages: its CAP, audio and acknowledgement paths."""

    drill_id: int = 0

    def cap(self, warning_id: int, version: int) -> str:
        base = f"{self.base_url}/api/drills/{self.drill_id}"
        return f"{base}/warnings/{warning_id}.cap?version={version}"

    def audio(self, outbox_id: int, fmt: str = "wav") -> str:
        return f"{self.base_url}/api/drills/{self.drill_id}/broadcasts/{outbox_id}/audio.{fmt}"

    def ack(self, outbox_id: int) -> str:
        return f"{self.base_url}/api/drills/{self.drill_id}/broadcasts/{outbox_id}/ack"


def drill_url(url: str, schema: str) -> str:
    """``url`` with the drill's search_path for every session opened with it."""
    options = conninfo_to_dict(url).get("options") or ""
    path = twin.search_path(schema).replace(" ", "")
    return make_conninfo(url, options=f"{options} -c search_path={path}".strip())


def drill_adapters(settings: Settings, drill: dict) -> dict[str, Adapter]:
    """Loudspeakers always (the twin's terminals point at the reference receiver when targets are
    'reference'); MQTT and SMS only for real targets; never the CAP feed."""
    from riskmap.api.dispatch.adapters.http_terminal import HttpTerminalAdapter
    from riskmap.api.dispatch.adapters.render import load_ebm_codes

    links = DrillLinks(service.base_url(settings), drill["id"])
    http = HttpTerminalAdapter(
        links,
        timeout_s=settings.dispatch_timeout_s,
        ebm_codes=load_ebm_codes(settings.ebm_codes_file),
        sender_name=settings.sender_name,
        sender_code=settings.sender_code,
    )
    out: dict[str, Adapter] = {"broadcast:http-json": http, "broadcast:ebm-xml": http}
    if drill["targets"] == "real":
        from riskmap.api.dispatch.adapters.mqtt import MqttAdapter

        out["broadcast:mqtt"] = MqttAdapter(links, timeout_s=settings.dispatch_timeout_s)
        if settings.sms_gateway_url:
            from riskmap.api.dispatch.adapters.sms import SmsGatewayAdapter

            out["sms"] = SmsGatewayAdapter(
                links,
                url=settings.sms_gateway_url,
                key=settings.sms_gateway_key or "",
                callback_url=f"{links.base_url}/api/sms/receipts",
                timeout_s=settings.dispatch_timeout_s,
            )
    return out


class DrillDelivery:
    """One dispatcher for the whole drill, drained after each hour on the scenario clock."""

    def __init__(self, settings: Settings, url: str, drill: dict) -> None:
        self.clock_at: datetime = drill["scenario_start"]
        self.dispatcher = Dispatcher(
            drill_url(url, drill["schema_name"]),
            drill_adapters(settings, drill),
            service.installation_key(settings),
            service.policy(settings),
            name=f"drill-{drill['id']}",
            clock=lambda: self.clock_at,
        )
        self.url = drill_url(url, drill["schema_name"])

    async def deliver(self, at: datetime) -> None:
        """Deliver what is due, judging expiry as of ``at`` (scenario time)."""
        self.clock_at = at
        await self.dispatcher.run(asyncio.Event(), drain=True)

    async def wait_for_acks(self, seconds: float) -> int:
        """Wait up to ``seconds`` for the loudspeakers' acknowledgements of sent broadcasts;
        returns those still unconfirmed."""
        deadline = time.monotonic() + seconds
        while True:
            with psycopg.connect(self.url) as conn:
                row = conn.execute(twin.SQL("unacked_broadcasts.sql"), prepare=False).fetchone()
            waiting = row[0]
            if waiting == 0 or time.monotonic() > deadline:
                return waiting
            await asyncio.sleep(0.5)

    async def aclose(self) -> None:
        await self.dispatcher.aclose()
