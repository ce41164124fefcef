"""The tiles bench's load generators (bench/tiles.py). Pass 1, first render: a bare HTTP/1.1
client on asyncio streams (uvloop when present), run in the tipg virtualenv's python as
``python -m bench.tile_client`` with a JSON job on stdin; this module imports only the standard
library (and uvloop) at the top, as that virtualenv has nothing of riskmap's. The other passes:
wrk (C) cycling the tile list, for a set time (:func:`wrk`, optionally while the data change) or
until stopped (:class:`Wrk`, bench/writes_under_load.py).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]

_LENGTH = re.compile(rb"(?i)\r\ncontent-length:\s*(\d+)")
_CHUNKED = re.compile(rb"(?i)\r\ntransfer-encoding:\s*chunked")

Result = tuple[float, list[float], list[int], int]  # seconds, latencies, sizes, errors


async def _read_body(reader: asyncio.StreamReader, head: bytes) -> bytes:
    if _CHUNKED.search(head):
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
            parts.append(await reader.readexactly(size + 2))
            if size == 0:
                return b"".join(parts)[:-2]
    length = _LENGTH.search(head)
    return await reader.readexactly(int(length.group(1))) if length else b""


async def _hammer(base: str, paths: list[str], headers: dict[str, str], clients: int) -> Result:
    """Fetch every path with ``clients`` keep-alive clients; (seconds, latencies, sizes, errors).

    A bare HTTP/1.1 client on asyncio streams (uvloop when present): the load shares the two
    cores with both servers, so it must cost far less per request than they do (aiohttp cost
    about as much as a cached tile)."""
    host, port = urlsplit(base).hostname, urlsplit(base).port
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    tail = f" HTTP/1.1\r\nHost: {host}:{port}\r\n{extra}\r\n".encode()
    todo = iter(paths)
    latencies: list[float] = []
    sizes: list[int] = []
    errors = 0

    async def client() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for path in todo:
                t0 = time.perf_counter()
                writer.write(b"GET " + path.encode() + tail)
                head = await reader.readuntil(b"\r\n\r\n")
                body = await _read_body(reader, head)
                latencies.append(time.perf_counter() - t0)
                status = head[9:12]
                if status == b"200" and body:
                    sizes.append(len(body))
                elif status not in (b"200", b"204"):  # 204 / empty 200: an empty tile
                    errors += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return time.perf_counter() - started, latencies, sizes, errors


def load(
    python: Path, base: str, paths: list[str], headers: dict[str, str], clients: int
) -> Result:
    """Run :func:`_hammer` in the bench virtualenv's ``python`` and read its JSON result."""
    job = {"base": base, "paths": paths, "headers": headers, "clients": clients}
    proc = subprocess.run(
        [str(python), "-m", "bench.tile_client"],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"load generator failed: {proc.stderr.strip()[-500:]}")
    out = json.loads(proc.stdout)
    return out["seconds"], out["latencies"], out["sizes"], out["errors"]


WRK_SCRIPT = Path(__file__).with_name("wrk_paths.lua")

# a one-row write (bench/writes_under_load.py): one village's risk level for one hazard flipped
# (1↔4, 2↔3), whose notification drops the cached tiles that draw that village (migration 0054)
UPDATE_ONE_ROW = (
    "UPDATE village_risk SET risk_level = 5 - risk_level WHERE (village_code, hazard) ="
    " (SELECT village_code, hazard FROM village_risk ORDER BY 1, 2 LIMIT 1)"
)


# a random village's risk levels flipped (1↔4, 2↔3): a change the village tiles draw
CHANGE_ONE_VILLAGE = (
    "UPDATE village_risk SET risk_level = 5 - risk_level WHERE village_code ="
    " (SELECT village_code FROM village_risk ORDER BY random() LIMIT 1)"
)


def _changes(db: str, every: float, stop, first: float | None = None) -> None:
    """Change a random village's risk levels every ``every`` seconds until ``stop`` is set (the
    first time after ``first`` s when given, else after ``every``): a real update of what the
    tiles draw, whose notification drops the tiles of that village in every worker's cache
    (migration 0054; an update of columns no tile draws, such as computed_at, drops none)."""
    import psycopg

    with psycopg.connect(db, autocommit=True) as conn:
        wait = every if first is None else first
        while not stop.wait(wait):
            conn.execute(CHANGE_ONE_VILLAGE)
            wait = every


def _wrk_argv(
    program: str,
    base: str,
    paths: list[str],
    headers: dict[str, str],
    folder: Path,
    clients: int,
    seconds: int,
) -> list[str]:
    """wrk's command line cycling ``paths`` (written to a listing in ``folder``) on ``base``."""
    listing = folder / f"paths-{urlsplit(base).port}.txt"
    listing.write_text("\n".join(paths) + "\n")
    argv = [program, "-t2", f"-c{clients}", f"-d{seconds}s", "-s", str(WRK_SCRIPT)]
    for k, v in headers.items():
        argv += ["-H", f"{k}: {v}"]
    return [*argv, base, "--", str(listing), "2"]


def _wrk_summary(stdout: str) -> dict | None:
    """The JSON summary wrk_paths.lua prints at the end, with the throughput; None if none."""
    lines = [x for x in stdout.splitlines() if x.startswith("{")]
    if not lines:
        return None
    out = json.loads(lines[-1])
    out["rps"] = out["requests"] / (out["duration_us"] / 1e6)
    return out


def wrk(
    base: str,
    paths: list[str],
    headers: dict[str, str],
    folder: Path,
    *,
    clients: int,
    seconds: int,
    change_every: tuple[str, float] | None = None,
    first_change: float | None = None,
) -> dict:
    """The list cycled for ``seconds`` by ``clients`` connections under wrk (C, epoll): the
    load generator takes almost no CPU from the two cores the servers share, so its latencies
    are the servers'. With ``change_every`` (database, seconds) the data change that often
    meanwhile (the first after ``first_change`` s when given: a short pass still sees several)."""
    import threading

    found = shutil.which("wrk")
    assert found is not None
    argv = _wrk_argv(found, base, paths, headers, folder, clients, seconds)
    stop = threading.Event()
    changer = None
    if change_every is not None:
        changer = threading.Thread(
            target=_changes, args=(*change_every, stop, first_change), daemon=True
        )
        changer.start()
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    finally:
        stop.set()
        if changer is not None:
            changer.join()
    out = _wrk_summary(proc.stdout)
    if proc.returncode != 0 or out is None:
        raise RuntimeError(f"wrk failed: {proc.stderr.strip()[-300:]}")
    return out


class Wrk:
    """wrk (C, epoll) cycling ``paths`` with ``clients`` connections until :meth:`stop` (SIGINT:
    wrk stops and prints its summary); the load generator takes almost no CPU."""

    running: ClassVar[list[Wrk]] = []  # stopped by the bench's clean-up if it fails meanwhile

    def __init__(
        self, base: str, paths: list[str], headers: dict[str, str], folder: Path, clients: int
    ) -> None:
        self.argv = _wrk_argv("wrk", base, paths, headers, folder, clients, 3600)
        self.proc: subprocess.Popen | None = None

    def start(self) -> Wrk:
        self.proc = subprocess.Popen(
            self.argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        Wrk.running.append(self)
        return self

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> dict:
        """Stop wrk; its summary (``rps``, ``p50_us``, ``p99_us``, ``max_us``, ``errors``...)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)
        out, err = self.proc.communicate(timeout=60)
        Wrk.running.remove(self)
        result = _wrk_summary(out)
        if result is None:
            raise RuntimeError(f"wrk printed no summary: {err.strip()[-300:]}")
        return result


def _main() -> None:
    """``python -m bench.tile_client``: a JSON job on stdin, the timings as JSON on stdout."""
    job = json.load(sys.stdin)
    try:
        from uvloop import run as run_loop
    except ImportError:
        run_loop = asyncio.run
    hammer = _hammer(job["base"], job["paths"], job["headers"], job["clients"])
    seconds, latencies, sizes, errors = run_loop(hammer)
    json.dump({"seconds": seconds, "latencies": latencies, "sizes": sizes, "errors": errors},
              sys.stdout)  # fmt: skip


if __name__ == "__main__":
    _main()
