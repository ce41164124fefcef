"""`riskmap ingest hj212 --mqtt` as an operator runs it: its own process, a device on 127.0.0.1,
a gateway on a real Mosquitto, and a SIGTERM that writes what is pending before it stops."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import aiomqtt
import psycopg

from riskmap.api.dispatch.broker import Broker
from tests.worksafety.hj212_db import (  # noqa: F401 (fixtures)
    POINT_N,
    ws_template_fixture,
    ws_url_fixture,
)
from tests.worksafety.hj212_packets import wrap


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_cli_serves_answers_and_stops_cleanly(ws_url: str, tmp_path) -> None:
    port = _free_port()
    broker = Broker(tmp_path / "mosquitto").start()
    env = {
        **os.environ,
        "RISKMAP_DATABASE_URL": ws_url,
        "RISKMAP_DATA_DIR": str(tmp_path),
        "RISKMAP_HJ212_FLUSH_MS": "300",
    }
    command = ["ingest", "hj212", "--port", str(port), "--mqtt", broker.url]
    proc = subprocess.Popen(
        [sys.executable, "-m", "riskmap.api.cli", *command],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                device = socket.create_connection(("127.0.0.1", port), timeout=1)
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read()
                time.sleep(0.2)
        seg = (
            "QN=20260607140001000;ST=39;CN=2011;PW=123456;MN=WK0002CHEM;Flag=4;CP=&&"
            "DataTime=20260607140000;a99054-Rtd=7.5,a99054-Flag=N&&"
        )
        device.sendall(wrap(seg))
        body = {"point": "dam1-gp1", "tm": "2026-06-07T14:00:00+08:00", "value": 2.5}
        asyncio.run(_publish(broker, "riskmap/readings", [body]))
        assert _count_until(ws_url, 2) == 2  # both ways in landed
        later = seg.replace("140001000", "140101000").replace("20260607140000", "20260607140100")
        device.sendall(wrap(later))  # pending when the SIGTERM comes: written before the exit
        time.sleep(0.1)
        device.close()
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        broker.stop()
    assert proc.returncode == 0, output
    assert f"HJ 212 server on 127.0.0.1:{port}" in output
    assert "MQTT readings from" in output
    # each server's own count, as printed (the console may wrap the line)
    assert re.search(r"'stored':\s*1\b", output), output  # MQTT
    assert re.search(r"'stored':\s*2\b", output), output  # HJ 212
    with psycopg.connect(ws_url) as conn:
        rows = conn.execute("SELECT point_n, value FROM ws_reading ORDER BY 1, 2").fetchall()
    lel = POINT_N["chem1-lel"]
    assert rows == [(POINT_N["dam1-gp1"], 2.5), (lel, 7.5), (lel, 7.5)]


def _count_until(url: str, n: int, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while True:
        with psycopg.connect(url) as conn:
            got = conn.execute("SELECT count(*) FROM ws_reading").fetchone()[0]
        if got >= n or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


async def _publish(broker: Broker, topic: str, body: object) -> None:
    """Retained: the server's subscriber gets it whenever it subscribes."""
    async with aiomqtt.Client("127.0.0.1", broker.port, identifier="test-gateway") as client:
        await client.publish(topic, json.dumps(body).encode(), qos=1, retain=True)
