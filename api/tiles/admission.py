"""Writes before map tiles: tile requests pass a gate that any write of the instance closes,
raster tiles are capped per worker, and the tile queue is bounded.

Why (bench/writes_under_load.py: 2 cores, 2 workers, 50 wrk clients cycling the village tiles):
an issued warning (``POST …/issue``) took 27–76 ms (p50) alone and 6–9× that under the map
load (p99 3–18×), while a rules run, a grid ingest and a one-row update, outside the API, stayed
within about 1.2–2×. ``pg_stat_activity`` sampled meanwhile showed the issuing session "idle in
transaction" 70–87 % of the time, running 8–26 %, and no lock or LWLock waits; tile renders kept
0.1–0.2 sessions busy: the database was waiting for the API worker, not the other way round.
The worker's event loop was saturated with tile requests (a cached tile never waits for
anything), so every hop of the write between the loop and its threads (connection, token, rate
limit, handler, commit) waited a loop turn, every statement waited for the GIL the loop thread
held, and the other worker kept the cores busy. Asyncio has no priorities; here the tile side
gives way:

* **writes close the gate** — while a write request (any method but GET, HEAD, OPTIONS) is in
  flight in any worker of the instance (:class:`SharedWriteBoard`), new tile requests wait
  before doing any work, for at most ``tile_write_pause_ms`` (a stream of writes cannot starve
  the maps); tiles already past the gate finish. The workers go quiet within milliseconds and
  the write runs nearly as if alone: 1.8–2.4× at p50 in the same bench, instead of 6–9×.
* **raster tiles capped** — rain and terrain tiles take a connection of the API's pool (the one
  writes use) and a thread each; at most ``tile_concurrency`` of them run at once per worker,
  the rest wait here without a connection or a thread. Before, rain-tile clients held all ten
  connections whenever the database slowed down, and a write queued behind them in the pool
  until it timed out (tests/reliability/test_writes_under_tile_load.py). Vector tiles render on
  their own pool (``tile_db_connections``) in batches (api/tiles/batch.py): capping their
  requests here would only shrink the batches.
* **a bounded queue** — beyond ``tile_queue`` waiting tile requests the answer is ``503`` with
  ``Retry-After: 1`` (map clients retry tiles), not an ever longer wait.

Tried and left out: renicing the database backends that render tiles made no measurable
difference (222 and 3,000 villages, cache on and off).
"""

from __future__ import annotations

import asyncio
import fcntl
import mmap
import os
import struct
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import HTTPException

READS = frozenset({"GET", "HEAD", "OPTIONS"})
RETRY_AFTER_S = 1


class WriteBoard:
    """Until when a write keeps this worker's tiles waiting (on the monotonic clock; 0: no write
    in flight). One worker's own; :class:`SharedWriteBoard` is the instance's."""

    def __init__(self) -> None:
        self._until = 0.0

    def mark(self, until: float) -> None:
        self._until = until

    def busy_until(self) -> float:
        return self._until

    def close(self) -> None:
        pass


SLOTS = 64  # workers of one instance
_PIDS = 8 * SLOTS  # the slots' owners (int32 each) follow their times (float64 each)
_SIZE = _PIDS + 4 * SLOTS


class SharedWriteBoard(WriteBoard):
    """The write board of every worker of an instance: a slot per worker (its pid and until
    when its write holds the tiles) in a small shared file, read by every tile request. The
    workers share the cores, so a write in one must quiet the tiles of all: with only its own
    worker quiet, the other kept the cores busy and the issuing worker's threads waited for a
    core as long as they ran. A worker that dies mid-write holds nobody for longer than the
    pause; its slot is taken by the next worker that starts (pids are checked under a lock)."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.lockf(self._fd, fcntl.LOCK_EX)
            try:
                if os.fstat(self._fd).st_size < _SIZE:
                    os.ftruncate(self._fd, _SIZE)
                self._map = mmap.mmap(self._fd, _SIZE)
                owners = struct.unpack_from(f"<{SLOTS}i", self._map, _PIDS)
                free = [i for i, pid in enumerate(owners) if pid == 0 or not _alive(pid)]
                if not free:
                    raise OSError(f"{path}: all {SLOTS} worker slots taken")
                self._slot = free[0]
                struct.pack_into("<d", self._map, 8 * self._slot, 0.0)
                struct.pack_into("<i", self._map, _PIDS + 4 * self._slot, os.getpid())
            finally:
                fcntl.lockf(self._fd, fcntl.LOCK_UN)
        except BaseException:
            os.close(self._fd)
            raise

    def mark(self, until: float) -> None:
        struct.pack_into("<d", self._map, 8 * self._slot, until)

    def busy_until(self) -> float:
        return max(struct.unpack_from(f"<{SLOTS}d", self._map, 0))

    def close(self) -> None:
        if self._map.closed:
            return
        struct.pack_into("<d", self._map, 8 * self._slot, 0.0)
        struct.pack_into("<i", self._map, _PIDS + 4 * self._slot, 0)
        self._map.close()
        os.close(self._fd)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_board() -> WriteBoard:
    """The instance's shared board when its workers have a directory of their own (``riskmap
    serve --workers N`` gives them one: api/instance.py), else the worker's own."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder and Path(folder).is_dir():
        try:
            return SharedWriteBoard(Path(folder) / "tile-gate")  # not *.db: no metric file
        except OSError:
            pass
    return WriteBoard()


POLL_S = 0.005  # how often waiting tiles look whether the writes they wait for are done


class TileAdmission:
    """One worker's gate for tile requests (used on its event loop only)."""

    def __init__(self, raster_limit: int, queue: int, write_pause_s: float) -> None:
        self.raster_limit = raster_limit
        self.queue = queue
        self.write_pause_s = write_pause_s
        self.board: WriteBoard = WriteBoard()  # the instance's, once the worker starts
        self.writes = 0  # write requests in flight in this worker
        self.rasters = 0  # raster tiles being served
        self.rejected = 0  # tile requests answered 503 (queue full)
        self.paused = 0  # tile requests that waited for a write
        self._vectors: deque[asyncio.Future[None]] = deque()  # waiting for the gate
        self._rasters: deque[asyncio.Future[None]] = deque()  # for the gate and the cap
        self._polling = False

    # -- writes ---------------------------------------------------------------------------------

    def write_started(self) -> None:
        self.writes += 1
        if self.writes == 1 and self.write_pause_s > 0:
            self.board.mark(time.monotonic() + self.write_pause_s)  # the pause is bounded

    def write_done(self) -> None:
        self.writes -= 1
        if self.writes == 0:
            self.board.mark(0.0)
            self._wake()

    def _closed(self) -> bool:
        return self.board.busy_until() > time.monotonic()

    # -- tiles ----------------------------------------------------------------------------------

    @asynccontextmanager
    async def tile(self, raster: bool = False) -> AsyncIterator[None]:
        """Hold one admission for a tile request (``raster``: counted against the cap)."""
        if raster:
            if self._rasters or self.rasters >= self.raster_limit or self._closed():
                await self._wait(self._rasters)  # admitted: counted by _wake
            else:
                self.rasters += 1
            try:
                yield
            finally:
                self.rasters -= 1
                self._wake()
        else:
            if self._vectors or self._closed():
                await self._wait(self._vectors)
            yield

    async def _wait(self, line: deque[asyncio.Future[None]]) -> None:
        if len(self._vectors) + len(self._rasters) >= self.queue:
            self.rejected += 1
            raise HTTPException(
                503,
                "too many map tiles waiting; try again shortly",
                headers={"Retry-After": str(RETRY_AFTER_S)},
            )
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        line.append(fut)
        self._wake()  # the gate may be open and the cap not reached: then at once
        if not fut.done():
            self.paused += self._closed()
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():  # admitted as the client went away
                if line is self._rasters:
                    self.rasters -= 1
            elif fut in line:  # (_wake may have dropped it already)
                line.remove(fut)
            self._wake()
            raise

    def _wake(self) -> None:
        """Admit waiting requests in order while the gate is open (raster tiles up to the cap).
        While it is closed, look again every POLL_S (a write of another worker ends, or the
        pause does)."""
        if self._closed():
            if (self._vectors or self._rasters) and not self._polling:
                self._polling = True
                asyncio.get_running_loop().call_later(POLL_S, self._poll)
            return
        while self._vectors:
            fut = self._vectors.popleft()
            if not fut.done():
                fut.set_result(None)
        while self._rasters and self.rasters < self.raster_limit:
            fut = self._rasters.popleft()
            if not fut.done():
                self.rasters += 1
                fut.set_result(None)

    def _poll(self) -> None:
        self._polling = False
        self._wake()


class WritesFirstMiddleware:
    """Close the worker's tile gate (``app.state.tile_admission``) while a write request runs,
    until its response is sent."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] in READS:
            await self.app(scope, receive, send)
            return
        admission = getattr(scope["app"].state, "tile_admission", None)
        if admission is None:
            await self.app(scope, receive, send)
            return
        admission.write_started()
        try:
            await self.app(scope, receive, send)
        finally:
            admission.write_done()
