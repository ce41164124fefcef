"""The clients of the load test (test_load.py), all on one asyncio loop: wall maps reading the
live events (``Wall``), users reading the API (``Readers``), and a sampler of the server
processes' resident memory (``RssSampler``)."""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx


async def until(check: Callable[[], object], seconds: float, what: str, every: float = 0.1):
    """The first truthy ``check()`` within ``seconds`` (the loop runs meanwhile), else a
    failure naming ``what``."""
    deadline = time.monotonic() + seconds
    while not (value := check()):
        assert time.monotonic() < deadline, f"{what}: not within {seconds} s"
        await asyncio.sleep(every)
    return value


@dataclass(eq=False)
class Wall:
    """One wall map: a live-event stream opened once with Last-Event-ID and read until the test
    ends it. Any end before that (a closed stream, an HTTP error, a status other than 200)
    is a failure: under load the stream must not drop."""

    token: str | None
    events: list[tuple[int, str]] = field(default_factory=list)  # (id, kind) as received
    opened: bool = False  # the first comment arrived: the server subscribed this client
    failure: str | None = None

    async def run(self, client: httpx.AsyncClient, after: int) -> None:
        headers = {"Last-Event-ID": str(after)}
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            async with client.stream("GET", "/api/events", headers=headers) as r:
                if r.status_code != 200:
                    self.failure = f"status {r.status_code}"
                    return
                rest = b""
                async for chunk in r.aiter_bytes():
                    *blocks, rest = (rest + chunk).replace(b"\r\n", b"\n").split(b"\n\n")
                    for block in blocks:
                        self._block(block)
            self.failure = "the server ended the stream"
        except httpx.HTTPError as exc:
            self.failure = f"{type(exc).__name__}: {exc}"

    def _block(self, block: bytes) -> None:
        fields: dict[bytes, bytes] = {}
        for line in block.split(b"\n"):
            if line.startswith(b":"):
                self.opened = True
                continue
            name, _, value = line.partition(b":")
            fields[name] = value.removeprefix(b" ")
        if fields.get(b"event") == b"reset":  # more missed than the server can replay
            self.failure = "reset"
        if b"id" in fields:
            self.events.append((int(fields[b"id"]), fields.get(b"event", b"").decode()))

    def last(self) -> int:
        return self.events[-1][0] if self.events else 0


@dataclass
class Readers:
    """API users: each reads ``paths`` in turn, the next request as soon as the answer is in.
    Every answer's status and every transport error are counted per path kind.

    Like a browser or nginx (its upstream keepalive), a user sends a GET once more, on a new
    connection, when it failed before any answer on a kept-alive connection: the server may
    close an idle connection at any moment (uvicorn after 5 s), and a request crossing that
    close is lost without having been read (RFC 9112 §9.3.1). Those are counted in
    ``retried``; a failure on a new connection, or of the second attempt, is an error."""

    paths: list[tuple[str, str, dict[str, str]]]  # (kind, path, headers)
    statuses: Counter = field(default_factory=Counter)  # (kind, status) → answers
    errors: Counter = field(default_factory=Counter)  # (kind, error type) → count
    failed: list[str] = field(default_factory=list)  # the first transport errors, described
    retried: Counter = field(default_factory=Counter)  # kind → sent again (see above)
    seconds: dict[str, list[float]] = field(default_factory=dict)  # kind → answer times
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def user(self, client: httpx.AsyncClient, n: int) -> None:
        k = n
        while not self.stop.is_set():
            kind, path, headers = self.paths[k % len(self.paths)]
            k += 1
            began = time.monotonic()
            try:
                r = await self._get(client, kind, path, headers)
            except httpx.TransportError as exc:
                self.errors[(kind, type(exc).__name__)] += 1
                if len(self.failed) < 10:
                    waited = time.monotonic() - began
                    self.failed.append(f"{path} after {waited:.2f} s: {exc!r}")
                continue
            self.seconds.setdefault(kind, []).append(time.monotonic() - began)
            self.statuses[(kind, r.status_code)] += 1

    async def _get(
        self, client: httpx.AsyncClient, kind: str, path: str, headers: dict[str, str]
    ) -> httpx.Response:
        new = answer = False

        async def trace(event: str, _info: dict) -> None:
            nonlocal new, answer
            new |= event.startswith("connection.connect_tcp.")
            answer |= event == "http11.receive_response_headers.complete"

        try:
            return await client.get(path, headers=headers, extensions={"trace": trace})
        except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError):
            if new or answer:
                raise
        self.retried[kind] += 1
        return await client.get(path, headers=headers)

    def answered(self) -> int:
        return sum(self.statuses.values())

    def latencies(self) -> str:
        """Median and 99th percentile answer time per kind, all kinds first."""
        kinds = {"all": [t for times in self.seconds.values() for t in times]} | self.seconds
        parts = []
        for kind, times in kinds.items():
            times = sorted(times) or [0.0]
            p99 = times[int(0.99 * (len(times) - 1))]
            parts.append(f"{kind} {statistics.median(times) * 1000:.0f}/{p99 * 1000:.0f}")
        return "answer ms p50/p99: " + ", ".join(parts)


def rss_kb(pid: int) -> int | None:
    """VmRSS of ``pid`` in kB, None once it has ended."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    return next(int(line.split()[1]) for line in text.splitlines() if line.startswith("VmRSS:"))


def cpu_s(pid: int) -> float:
    """User and system CPU seconds ``pid`` has used (0 once it has ended)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle, iowait
    return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK"), sum(ticks) / os.sysconf("SC_CLK_TCK")


def process_label(pid: int, main: int) -> str | None:
    """The part ``pid`` plays in the server ``main``: "main" (itself), "worker" (a uvicorn
    worker) or None (another child, such as multiprocessing's resource tracker)."""
    if pid == main:
        return "main"
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    return "worker" if b"spawn_main" in cmdline else None


@dataclass
class RssSampler:
    """VmRSS of each process in ``pids`` (label → pid) about once a second, from /proc; the CPU
    they and the whole machine used meanwhile."""

    pids: dict[str, int]
    samples: list[tuple[float, dict[str, int | None]]] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds used while sampling
    busy: float = 0.0  # the machine's CPU use meanwhile, all cores (0–1)

    async def run(self) -> None:
        began = time.monotonic()
        start = {k: cpu_s(p) for k, p in self.pids.items()}
        busy, total = machine_cpu()
        while True:
            self.cpu = {k: cpu_s(p) - start[k] for k, p in self.pids.items()}
            now_busy, now_total = machine_cpu()
            self.busy = (now_busy - busy) / max(now_total - total, 1e-9)
            now = time.monotonic() - began
            self.samples.append((now, {k: rss_kb(p) for k, p in self.pids.items()}))
            await asyncio.sleep(1.0)  # the sampling period

    def quarter_medians(self, label: str) -> list[float]:
        """The median RSS (MiB) of ``label`` in each quarter of the sampled time."""
        end = self.samples[-1][0] or 1.0
        quarters: list[list[int]] = [[], [], [], []]
        for t, values in self.samples:
            if values[label] is not None:
                quarters[min(3, int(4 * t / end))].append(values[label])
        return [statistics.median(q) / 1024 if q else float("nan") for q in quarters]

    def table(self, rows: int = 60) -> str:
        """The samples as a table (time, MiB per process), at most about ``rows`` lines."""
        labels = list(self.pids)
        step = max(1, -(-len(self.samples) // rows))
        lines = ["    t  " + "  ".join(f"{k:>9}" for k in labels) + "   (RSS MiB)"]
        picked = self.samples[::step]
        if picked[-1] is not self.samples[-1]:
            picked.append(self.samples[-1])
        for t, values in picked:
            cells = [f"{v / 1024:9.1f}" if v is not None else "     gone" for v in values.values()]
            lines.append(f"{t:5.0f}  " + "  ".join(cells))
        return "\n".join(lines)
