"""A Server-Sent Events client in a thread, reconnecting with Last-Event-ID like a browser."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from typing import Any

import httpx


class Stream:
    """Reads ``/api/events`` from ``base``; ``events`` holds every event received, in order."""

    def __init__(
        self,
        base: str,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        *,
        reconnect: bool = False,
        last_id: int | None = None,
    ) -> None:
        self.base = base
        self.headers = headers or {}
        self.params = params or {}
        self.reconnect = reconnect
        self.last_id = last_id
        self.events: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self.opened = threading.Event()  # the first comment arrived: the server subscribed
        self.connects = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def ids(self, kind: str | None = None) -> list[int]:
        return [int(e["id"]) for e in list(self.events) if kind is None or e["event"] == kind]

    def payloads(self, kind: str) -> list[dict[str, Any]]:
        return [e["data"]["payload"] for e in list(self.events) if e["event"] == kind]

    def wait_open(self, seconds: float = 10) -> Stream:
        assert self.opened.wait(seconds), f"stream not open; statuses {self.statuses}"
        return self

    def close(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            headers = dict(self.headers)
            if self.last_id is not None:
                headers["Last-Event-ID"] = str(self.last_id)
            with contextlib.suppress(httpx.HTTPError):  # the server went away: reconnect
                self._read(headers)
            if not self.reconnect:
                return
            time.sleep(0.2)

    def _read(self, headers: dict[str, str]) -> None:
        timeout = httpx.Timeout(5, read=30)
        url = f"{self.base}/api/events"
        with (
            httpx.Client(timeout=timeout) as client,
            client.stream("GET", url, headers=headers, params=self.params) as r,
        ):
            self.statuses.append(r.status_code)
            if r.status_code != 200:
                self._stop.set()
                return
            self.connects += 1
            event: dict[str, Any] = {}
            for line in r.iter_lines():
                if self._stop.is_set():
                    return
                if line.startswith(":"):
                    self.opened.set()
                    continue
                if not line:
                    if "data" in event:
                        event["data"] = json.loads(event["data"])
                        self.events.append(event)
                        if "id" in event:
                            self.last_id = int(event["id"])
                    event = {}
                    continue
                key, _, value = line.partition(":")
                event[key] = value.removeprefix(" ")
