"""Build a dispatcher from the settings: the adapters each channel needs, the installation key."""

from __future__ import annotations

import asyncio
import contextlib
import signal

from riskmap.api.dispatch import keys
from riskmap.api.dispatch.model import Adapter, Links
from riskmap.api.dispatch.runner import Dispatcher, Policy, Stats
from riskmap.geo.settings import Settings


def base_url(settings: Settings) -> str:
    """Where terminals fetch audio and CAP and send acknowledgements."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    host = "127.0.0.1" if settings.host in {"0.0.0.0", "::", ""} else settings.host
    return f"http://{host}:{settings.port}"


def installation_key(settings: Settings):
    return keys.installation_key(settings.secret_key, settings.data_dir / "secret.key")


def policy(settings: Settings) -> Policy:
    return Policy(
        max_attempts=settings.dispatch_max_attempts,
        backoff_s=settings.dispatch_backoff_s,
        backoff_max_s=settings.dispatch_backoff_max_s,
        timeout_s=settings.dispatch_timeout_s,
        batch=settings.dispatch_batch,
        lanes=settings.dispatch_lanes,
    )


def adapters(settings: Settings) -> dict[str, Adapter]:
    """One adapter per route; SMS only when a gateway is configured (else SMS rows wait)."""
    from riskmap.api.dispatch.adapters.cap_feed import CapFeedAdapter
    from riskmap.api.dispatch.adapters.http_terminal import HttpTerminalAdapter
    from riskmap.api.dispatch.adapters.mqtt import MqttAdapter
    from riskmap.api.dispatch.adapters.render import load_ebm_codes

    links = Links(base_url(settings))
    t = settings.dispatch_timeout_s
    http = HttpTerminalAdapter(
        links,
        timeout_s=t,
        ebm_codes=load_ebm_codes(settings.ebm_codes_file),
        sender_name=settings.sender_name,
        sender_code=settings.sender_code,
    )
    out: dict[str, Adapter] = {
        "broadcast:http-json": http,
        "broadcast:ebm-xml": http,
        "broadcast:mqtt": MqttAdapter(links, timeout_s=t),
        "cap-feed": CapFeedAdapter(links, broker_url=settings.mqtt_url, timeout_s=t),
    }
    if settings.sms_gateway_url:
        from riskmap.api.dispatch.adapters.sms import SmsGatewayAdapter

        out["sms"] = SmsGatewayAdapter(
            links,
            url=settings.sms_gateway_url,
            key=settings.sms_gateway_key or "",
            callback_url=f"{links.base_url}/api/sms/receipts",
            timeout_s=t,
        )
    return out


def build(settings: Settings, url: str) -> Dispatcher:
    return Dispatcher(url, adapters(settings), installation_key(settings), policy(settings))


async def _main(settings: Settings, url: str, drain: bool) -> Stats:
    dispatcher = build(settings, url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        return await dispatcher.run(stop, drain=drain)
    finally:
        await dispatcher.aclose()


def run(settings: Settings, url: str, *, drain: bool = False) -> Stats:
    """Run until SIGTERM/SIGINT, or (``drain``) until nothing is due."""
    return asyncio.run(_main(settings, url, drain))
