"""Reading a running receiver's journal and counts over HTTP (tests, benchmarks, ``make demo``)."""

from __future__ import annotations

import time
from typing import Any

import httpx


def journal(base_url: str, since: int = 0, *, timeout_s: float = 10.0) -> list[dict[str, Any]]:
    """Every journal row after id ``since``, oldest first (pages of 1000 followed)."""
    rows: list[dict[str, Any]] = []
    with httpx.Client(base_url=base_url, timeout=timeout_s) as client:
        while True:
            page = client.get("/journal", params={"since": since, "limit": 1000})
            page.raise_for_status()
            batch = page.json()
            rows += batch
            if len(batch) < 1000:
                return rows
            since = batch[-1]["id"]


def health(base_url: str, *, timeout_s: float = 10.0) -> dict[str, Any]:
    """Counts: played, stale, duplicates, acked, refused; and the MQTT state."""
    answer = httpx.get(f"{base_url}/healthz", timeout=timeout_s)
    answer.raise_for_status()
    return answer.json()


def wait_for(base_url: str, key: str, at_least: int, *, timeout_s: float = 10.0) -> dict:
    """Poll /healthz until count ``key`` reaches ``at_least``; the counts, or TimeoutError."""
    deadline = time.monotonic() + timeout_s
    while True:
        counts = health(base_url)
        if counts.get(key, 0) >= at_least:
            return counts
        if time.monotonic() > deadline:
            raise TimeoutError(f"{key} = {counts.get(key)} after {timeout_s} s, wanted {at_least}")
        time.sleep(0.05)
