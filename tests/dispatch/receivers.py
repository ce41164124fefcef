"""Real loopback servers for delivery tests: the reference receiver and scripted terminals.

Plain helpers (not fixtures) so any dispatch test can import them; every server listens on a
port the kernel chose (a socket bound to port 0 before the server starts).
"""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import uvicorn

from riskmap.api.dispatch.model import Message
from riskmap.api.receiver.app import ReceiverConfig, create_app

TERMINAL = "BT431226000001"
OTHER_TERMINAL = "BT431226000002"
VILLAGE = "431226100201"
SECRET = bytes(range(32))
OTHER_SECRET = bytes(range(32, 64))
# An orange flash-flood alert as geo.warnings.delivery writes a broadcast row (hand-written).
PAYLOAD: dict[str, Any] = {
    "cap_identifier": "43122601300100_20260714100000_1",
    "msg_type": "Alert",
    "cap_status": "Actual",
    "colour": "orange",
    "level": "二级",
    "hazard": "flash_flood",
    "event_zh": "山洪灾害",
    "action": "issue",
    "headline_zh": "麻阳苗族自治县山洪灾害橙色预警",
    "effective": "2026-07-14T10:00:00+08:00",
    "expires": "2026-07-14T14:00:00+00:00",
    "language": "zh-CN",
    "text": "山洪灾害橙色预警。请沿河群众立即转移。重复一遍：山洪灾害橙色预警。",
    "repeat": 3,
    "repeat_interval_s": 120,
    "villages": [VILLAGE, "431226100202"],
    "terminal_id": TERMINAL,
    "protocol": "http-json",
    "endpoint": "http://127.0.0.1:9/broadcast/431226100201",
    "village_code": VILLAGE,
    "terminal_status": "online",
}


def message(
    *,
    outbox_id: int = 41,
    version: int = 1,
    secret: bytes | None = SECRET,
    key_version: int = 1,
    **payload: Any,
) -> Message:
    """A broadcast Message for warning 7 to TERMINAL; keyword arguments change the payload."""
    p = {**PAYLOAD, **payload}
    terminal = p["terminal_id"]
    return Message(
        id=outbox_id,
        warning_id=7,
        version=version,
        channel="broadcast",
        target=terminal,
        payload=p,
        idempotency_key=f"warning:7:v{version}:broadcast:{terminal}",
        attempt=1,
        key_id=f"{terminal}:v{key_version}" if secret else None,
        secret=secret,
    )


def loopback_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def write_keys(path: Path, secrets: dict[str, bytes]) -> None:
    """A key file as ``keys.export()`` writes it, replaced atomically (a new inode)."""
    tmp = path.with_suffix(".tmp")
    doc = {kid: base64.b64encode(s).decode() for kid, s in secrets.items()}
    tmp.write_text(json.dumps(doc), encoding="utf-8")
    os.replace(tmp, path)


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """An ASGI app under uvicorn in a thread; yields its base URL."""
    sock = loopback_socket()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@contextmanager
def reference_receiver(tmp: Path, secrets: dict[str, bytes], **config: Any) -> Iterator[str]:
    """The reference receiver with a key file of ``secrets``; yields its base URL."""
    keys = tmp / "keys.json"
    if not keys.exists():
        write_keys(keys, secrets)
    cfg = ReceiverConfig(keys_file=keys, journal_file=tmp / "journal.sqlite", **config)
    with serving(create_app(cfg)) as url:
        yield url


@dataclass
class Seen:
    """One request a scripted server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    client_port: int  # the same port twice: the connection was kept alive


# What a scripted server does with a request: (status, headers, body), or the string "close"
# to drop the connection without answering, or a number of seconds to stall before answering.
Script = Callable[[Seen], "tuple[int, dict[str, str], bytes] | str | float"]


@dataclass
class Scripted:
    url: str
    seen: list[Seen] = field(default_factory=list)


@contextmanager
def scripted_server(script: Script) -> Iterator[Scripted]:
    """A tiny HTTP/1.1 server that answers as ``script`` says and records every request."""
    state = Scripted(url="")
    stop = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            seen = Seen("POST", self.path, dict(self.headers), body, self.client_address[1])
            state.seen.append(seen)
            action = script(seen)
            if action == "close":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if isinstance(action, int | float):
                stop.wait(action)
                action = (200, {}, b"{}")
            status, headers, payload = action
            self.send_response(status)
            for k, v in {"Content-Type": "application/json", **headers}.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
