"""`riskmap ingest hj212` as an operator runs it: its own process, a device on 127.0.0.1, and a
SIGTERM that writes what is pending before it stops."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time

import psycopg

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
    env = {
        **os.environ,
        "RISKMAP_DATABASE_URL": ws_url,
        "RISKMAP_DATA_DIR": str(tmp_path),
        "RISKMAP_HJ212_FLUSH_MS": "60000",  # only the SIGTERM writes the reading
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "riskmap.api.cli", "ingest", "hj212", "--port", str(port)],
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
        time.sleep(0.5)
        device.close()
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    assert f"HJ 212 server on 127.0.0.1:{port}" in output
    assert re.search(r"'stored':\s*1\b", output), output  # the console may wrap the line
    with psycopg.connect(ws_url) as conn:
        rows = conn.execute("SELECT point_n, value FROM ws_reading").fetchall()
    assert rows == [(POINT_N["chem1-lel"], 7.5)]
