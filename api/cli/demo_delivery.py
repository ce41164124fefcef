"""The demo's last mile: a private MQTT broker, the reference 村村响 receiver, the fake SMS
gateway and the dispatcher, started beside the API so an issued warning is heard at once."""

from __future__ import annotations

import socket
from dataclasses import dataclass

from riskmap.api.cli.common import console, out
from riskmap.api.cli.companions import Companions
from riskmap.geo.settings import Settings

RECEIVER_PORT = 8900  # the demo terminals' endpoints (geo/demo/resources/__init__.py)
SMS_PORT = 8901
MQTT_PORT = 1883  # the demo's MQTT terminals (geo/demo/resources/terminals.py)
SMS_KEY = "demo-sms-key"  # the fake gateway's key: loopback only, printed on purpose


@dataclass
class DemoDelivery:
    env: dict[str, str]  # settings the API and the dispatcher need (RISKMAP_...)
    broker: object | None


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex(("127.0.0.1", port)) == 0


def start(settings: Settings, url: str, children: Companions) -> DemoDelivery:
    """Keys for the demo terminals, then broker, receiver, gateway and dispatcher."""
    import psycopg

    from riskmap.api.cli.dispatch import write_key_file
    from riskmap.api.dispatch import keys, service
    from riskmap.api.dispatch.broker import Broker

    fernet = service.installation_key(settings)
    with psycopg.connect(url) as conn:
        keys.ensure_keys(conn, fernet)
        exported = keys.export(conn, fernet)
        conn.commit()
    base = settings.data_dir / "delivery"
    key_file = base / "receiver-keys.json"
    write_key_file(key_file, exported)

    broker = None
    if _listening(MQTT_PORT):
        console.print(f"mqtt: something already listens on {MQTT_PORT}; using it as the broker")
    else:
        broker = Broker(base / "mqtt").start(MQTT_PORT)
    mqtt = f"mqtt://127.0.0.1:{MQTT_PORT}"
    env = {
        "RISKMAP_SMS_GATEWAY_URL": f"http://127.0.0.1:{SMS_PORT}/sms/send",
        "RISKMAP_SMS_GATEWAY_KEY": SMS_KEY,
        "RISKMAP_MQTT_URL": mqtt,
    }
    children.start(
        "receiver",
        [
            "receiver",
            "--port",
            str(RECEIVER_PORT),
            "--keys",
            str(key_file),
            "--journal",
            str(base / "receiver-journal.sqlite"),
            "--mqtt",
            mqtt,
        ],
    )
    children.start(
        "sms-gateway",
        [
            "dev",
            "sms-gateway",
            "--port",
            str(SMS_PORT),
            "--key",
            SMS_KEY,
            "--log",
            str(base / "sms-gateway.jsonl"),
        ],
    )
    children.start("dispatcher", ["dispatch", "run"], env=env)
    # the drop folder: a rain grid put in data/inbox runs the rules and, when they fire, is
    # heard in the villages seconds later
    children.start("ingest", ["ingest", "run"])
    out.print(
        f"村村响 reference receiver 参考接收端: http://127.0.0.1:{RECEIVER_PORT}/journal\n"
        f"短信网关(模拟) fake SMS gateway log: curl -H 'Authorization: Bearer {SMS_KEY}'"
        f" http://127.0.0.1:{SMS_PORT}/sms/log\n"
        f"MQTT: {mqtt} (topics riskmap/broadcast/<village>, riskmap/cap/<status>)",
        highlight=False,
        soft_wrap=True,
    )
    return DemoDelivery(env=env, broker=broker)
