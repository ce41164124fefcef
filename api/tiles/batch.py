"""Tile renders batched per round trip: the tiles waiting for a connection go together.

Why: a worker's event loop busy with 50 map clients resumes a render only when its turn comes
(one loop iteration, 7–15 ms under load), so one tile per round trip held a connection about ten
times its 0.3 ms of PostgreSQL; after a change emptied the cache, renders queued for 100–300 ms.
Here each of a few tasks owns a connection while there is work and sends everything waiting for
one layer (up to ``MAX_BATCH`` tiles) in ONE statement (the layers' SQL takes arrays of tiles):
the loop latency is paid once per batch, and psycopg's cost once per batch instead of per tile.
A lone request is a batch of one, as fast as before.

The number of connections stays small on purpose: more statements at once than PostgreSQL has
cores only queue inside PostgreSQL, beside the API workers that need the same cores.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from psycopg_pool import AsyncConnectionPool

from riskmap.api.tiles import mvt

MAX_BATCH = 16  # tiles per statement: every tile of a batch waits for the whole batch
HEAVY_ZOOM = 10  # tiles at this zoom and below hold much of a county (z8: ~10 ms): alone
Source = tuple[mvt.VectorLayer, str | None]  # a layer and the area prefix it is drawn for
Waiting = tuple[Source, mvt.Tile, asyncio.Future]


class TileBatcher:
    """Render requests queue here; at most ``pool.max_size`` drain tasks send them in batches."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool
        self._waiting: deque[Waiting] = deque()
        self._draining = 0
        self._tasks: set[asyncio.Task] = set()
        self.statements = 0  # sent so far, the tiles they rendered, the most one carried
        self.rendered = 0
        self.largest_batch = 0

    @property
    def idle(self) -> bool:
        """Nothing waiting, nothing being sent."""
        return not self._waiting and not self._draining

    async def render(
        self, layer: mvt.VectorLayer, z: int, x: int, y: int, area: str | None = None
    ) -> bytes:
        """The tile's bytes (of the features in ``area``, api/areas.py), in the next batch."""
        fut: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._waiting.append(((layer, area), (z, x, y), fut))
        self._spawn()
        return await fut

    def _spawn(self) -> None:
        """Start a drain task if a connection may be free (tasks are kept: the loop holds only
        weak references to them)."""
        if self._draining < self.pool.max_size:
            self._draining += 1
            task = asyncio.ensure_future(self._drain())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _next_batch(self) -> tuple[Source, list[mvt.Tile], list[asyncio.Future]]:
        """The oldest waiting tile and up to MAX_BATCH − 1 more of its layer and area, in order;
        a low-zoom tile goes alone (it costs as much as a whole batch of others, which would
        wait for it) and only with other low-zoom tiles."""
        layer, (z, _, _), _ = self._waiting[0]
        heavy = z <= HEAVY_ZOOM
        size = 1 if heavy else MAX_BATCH
        tiles: list[mvt.Tile] = []
        futures: list[asyncio.Future] = []
        skipped: list[Waiting] = []
        while self._waiting and len(tiles) < size:
            item = self._waiting.popleft()
            same = item[0][0] is layer[0] and item[0][1] == layer[1]
            if same and (item[1][0] <= HEAVY_ZOOM) == heavy:
                if not item[2].done():  # a request that went away needs no tile
                    tiles.append(item[1])
                    futures.append(item[2])
            else:
                skipped.append(item)
        self._waiting.extendleft(reversed(skipped))  # back in front, in their order
        return layer, tiles, futures

    async def _drain(self) -> None:
        try:
            async with self.pool.connection() as conn:
                while self._waiting:
                    (layer, area), tiles, futures = self._next_batch()
                    if not tiles:
                        continue
                    self.statements += 1
                    self.rendered += len(tiles)
                    self.largest_batch = max(self.largest_batch, len(tiles))
                    try:
                        bodies: list[Any] = await mvt.render_many_async(conn, layer, tiles, area)
                    except Exception as exc:  # this batch's requests report it
                        for fut in futures:
                            if not fut.done():
                                fut.set_exception(exc)
                        break  # the pool checks the connection; the rest go to the next task
                    for fut, body in zip(futures, bodies, strict=True):
                        if not fut.done():
                            fut.set_result(body)
        except Exception as exc:  # no connection (database down): nobody waits for ever
            while self._waiting:
                fut = self._waiting.popleft()[2]
                if not fut.done():
                    fut.set_exception(exc)
        finally:
            self._draining -= 1
            if self._waiting:  # work arrived while this task was closing down
                self._spawn()
