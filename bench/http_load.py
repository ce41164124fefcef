"""The warning-list benches' load generator (bench/warnings_latency.py, bench/city.py): ``CLIENTS``
keep-alive connections asking for ``PATH``, paced (a request every 1/RATE_PER_CLIENT s per
client, latency counted from the scheduled time, so waiting counts), saturated (each client
asks again as soon as it has its answer) or saturated with a URL never asked before (the page
cache cannot answer). Run in a process of its own, so its CPU is not the measuring process's:
``python -m bench.http_load PORT MODE[,MODE...] [warm]`` prints each mode's summary as JSON.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import re
import sys

from bench.warnings_latency import (
    CLIENTS,
    COLD_S,
    DURATION_S,
    OPEN_S,
    PATH,
    RATE_PER_CLIENT,
    WARM_S,
)

_LENGTH = re.compile(rb"(?i)\r\ncontent-length:\s*(\d+)")
_UNIQUE = itertools.count()


async def _client(
    port: int, interval: float, start: float, end: float, out: list, errs: list, unique: bool
) -> None:
    loop = asyncio.get_running_loop()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head_of = f"HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: */*\r\n\r\n"
    request = f"GET {PATH} {head_of}".encode()
    due = start + (random.random() * interval if interval else 0.0)
    try:
        while due < end:
            now = loop.time()
            if due > now:
                await asyncio.sleep(due - now)
            if unique:  # a URL never asked before: the page cache cannot answer
                request = f"GET {PATH}?nocache={next(_UNIQUE)} {head_of}".encode()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            size = _LENGTH.search(head)
            await reader.readexactly(int(size.group(1)) if size else 0)
            done = loop.time()
            out.append(done - due)  # from the scheduled time: waiting counts
            if not head.startswith(b"HTTP/1.1 200"):
                errs.append(head[:12])
            due = due + interval if interval else done
    finally:
        writer.close()


async def _drive(port: int, mode: str) -> dict:
    loop = asyncio.get_running_loop()
    duration = {"warm": WARM_S, "cold": COLD_S}.get(mode, DURATION_S)
    interval = 1.0 / RATE_PER_CLIENT if mode in ("paced", "warm") else 0.0
    start = loop.time() + OPEN_S  # let every connection open first
    latencies: list[float] = []
    errors: list[bytes] = []
    await asyncio.gather(
        *(
            _client(port, interval, start, start + duration, latencies, errors, mode == "cold")
            for _ in range(CLIENTS)
        )
    )
    latencies.sort()
    n = len(latencies)

    def pct(q: float) -> float:
        return latencies[min(n - 1, int(q / 100 * n))] * 1000

    return {
        "n": n,
        "errors": len(errors),
        "rps": n / duration,
        "p50_ms": pct(50),
        "p99_ms": pct(99),
        "max_ms": latencies[-1] * 1000,
    }


def _main(argv: list[str]) -> None:
    try:
        from uvloop import run as run_loop
    except ImportError:
        run_loop = asyncio.run
    if argv[2:] == ["warm"]:  # the warm-up first: its figures are not kept
        run_loop(_drive(int(argv[0]), "warm"))
    out = {mode: run_loop(_drive(int(argv[0]), mode)) for mode in argv[1].split(",")}
    print(json.dumps(out))


if __name__ == "__main__":
    _main(sys.argv[1:])
