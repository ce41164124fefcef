"""`make demo`'s last mile as `riskmap demo` starts it: the broker, the reference receiver, the
fake SMS gateway, the dispatcher and the ingest runner as real child processes (on free ports
here instead of the demo's fixed ones), delivering a warning issued after they started."""

from __future__ import annotations

import socket

import httpx
import psycopg
import pytest

from riskmap.api.cli import demo_delivery
from riskmap.api.cli.companions import companions
from riskmap.api.receiver.client import journal
from riskmap.geo.settings import Settings
from tests.conftest import clone_database, drop_database
from tests.dispatch import delivery_setup as ds


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def world(pg_cluster, storm_url, tmp_path, monkeypatch):
    url = clone_database(pg_cluster, storm_url, "t_demo_delivery")
    monkeypatch.setenv("RISKMAP_DATABASE_URL", url)
    monkeypatch.setenv("RISKMAP_DATA_DIR", str(tmp_path))
    for name in ("RECEIVER_PORT", "SMS_PORT", "MQTT_PORT"):
        monkeypatch.setattr(demo_delivery, name, free_port())
    yield url, tmp_path
    drop_database(pg_cluster, url)


def test_the_demo_companions_deliver_a_new_warning(world) -> None:
    url, tmp = world
    settings = Settings(database_url=url, data_dir=tmp, port=free_port())
    rx = f"http://127.0.0.1:{demo_delivery.RECEIVER_PORT}"
    broker = f"mqtt://127.0.0.1:{demo_delivery.MQTT_PORT}"
    with companions(tmp / "logs") as children:
        started = demo_delivery.start(settings, url, children)
        try:
            assert {name for name, _ in children.procs} == {
                "receiver",
                "sms-gateway",
                "dispatcher",
                "ingest",
            }
            ds.wait_until(lambda: _up(f"{rx}/healthz"), 30, "the receiver")
            ds.wait_until(lambda: _up(f"{rx}/healthz", mqtt=True), 30, "its MQTT subscription")
            ds.point_terminals(url, rx, broker)  # the demo's endpoints, on this test's ports
            codes = ds.villages(url)[:30]
            wid = ds.publish(url, codes, rule="demo-companions")

            def heard() -> set[str]:
                got = {e["village_code"] for e in journal(rx) if e["warning_id"] == wid}
                return got if got == set(codes) else set()

            ds.wait_until(heard, 60, "every village heard it", every=0.5)
            gateway = f"http://127.0.0.1:{demo_delivery.SMS_PORT}/sms/log"
            auth = {"Authorization": f"Bearer {demo_delivery.SMS_KEY}"}
            phones = _sms_targets(url, wid)  # written at publish, before any sending
            assert phones

            def texted() -> set[str]:
                got = {m["to"] for m in httpx.get(gateway, headers=auth, timeout=5).json()}
                return got if got >= phones else set()

            # the dispatcher sends in batches: wait for every text, not just the first
            sent = ds.wait_until(texted, 60, "every SMS", every=0.5)
            for name, proc in children.procs:
                assert proc.poll() is None, f"{name} died: see {tmp / 'logs' / (name + '.log')}"
        finally:
            if started.broker is not None:
                started.broker.stop()
    with psycopg.connect(url) as c:
        protocols = dict(
            c.execute(
                "SELECT payload->>'protocol', count(*) FROM outbox WHERE warning_id = %s"
                " AND channel = 'broadcast' AND status IN ('sent', 'acked') GROUP BY 1",
                (wid,),
            ).fetchall()
        )
    assert sum(protocols.values()) == len(codes) and protocols.get("mqtt", 0) >= 1
    assert sent == phones


def _sms_targets(url: str, wid: int) -> set[str]:
    with psycopg.connect(url) as c:
        rows = c.execute(
            "SELECT target FROM outbox WHERE warning_id = %s AND channel = 'sms'", (wid,)
        ).fetchall()
    return {r[0] for r in rows}


def _up(url: str, mqtt: bool = False) -> bool:
    try:
        r = httpx.get(url, timeout=2)
    except httpx.TransportError:
        return False
    return r.status_code == 200 and (not mqtt or r.json().get("mqtt") == "connected")


def test_serve_with_dispatch_stops_its_dispatcher_on_sigterm(world) -> None:
    import os
    import signal
    import subprocess
    import sys

    assert world  # the clone and the environment pointing at it
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "riskmap.api.cli", "serve", "--with-dispatch", "--port", str(port)],
        env=os.environ.copy(),  # the fixture's RISKMAP_DATABASE_URL and RISKMAP_DATA_DIR
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        ds.wait_until(lambda: _up(f"http://127.0.0.1:{port}/healthz"), 60, "the API")

        def dispatcher_beats() -> bool:
            health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json()
            return health["components"]["dispatcher"]["status"] == "ok"

        ds.wait_until(dispatcher_beats, 60, "the dispatcher's heartbeat")
        children = _children(server.pid)
        assert children, "no dispatcher process"
        server.send_signal(signal.SIGTERM)
        server.wait(30)
        ds.wait_until(
            lambda: not [pid for pid in children if _alive(pid)], 10, "the dispatcher to exit"
        )
    finally:
        if server.poll() is None:
            server.kill()


def _children(pid: int) -> list[int]:
    from pathlib import Path

    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    from pathlib import Path

    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
