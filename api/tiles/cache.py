"""A per-worker cache of vector tiles and tile-token checks, emptied by PostgreSQL notifications.

Why: 50 map clients looking at the same county ask for the same few hundred tiles over and
over; rendering each again costs a query, answering from memory costs nothing. Correctness comes
from the database: migration 0019 makes every statement that changes a tiled table (villages,
risk, warnings, hazard points, shelters, stations) send ``NOTIFY riskmap_tiles, 'tiles'`` and
every change to users or tokens ``'tokens'``, to admin units ``'outlines'`` (the tiles and the
pre-simplified outlines are stale); notifications are delivered at commit. A thread
per worker LISTENs and empties the matching part of the cache.

No stale tile can stay: a render records the cache generation before it queries and is stored
only if no notification arrived meanwhile (a render that read the old data and finished after
the emptying is thrown away). The one window is the few milliseconds between a commit and its
notification reaching the worker. While the listener is not connected the cache is bypassed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

import psycopg

log = logging.getLogger("riskmap.tiles")

CHANNEL = "riskmap_tiles"
LISTENER_NAME = "riskmap-tiles"
MAX_BYTES = 64 * 1024 * 1024  # per worker
TOKEN_TTL_S = 60.0  # a cached token check also expires by itself (token expiry times)


class TileCache:
    """Tiles (LRU, bounded in bytes) and token checks, both emptied by notifications."""

    def __init__(self, database_url: str, max_bytes: int = MAX_BYTES) -> None:
        self.database_url = database_url
        self.max_bytes = max_bytes
        self._tiles: OrderedDict[Hashable, bytes] = OrderedDict()
        self._tokens: dict[str, tuple[Any, float]] = {}
        self._bytes = 0
        self._lock = threading.Lock()
        self._tile_generation = 0
        self._token_generation = 0
        self.outlines_stale = True  # rebuild queued outlines before the first render
        self._listening = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, name=LISTENER_NAME, daemon=True)

    def start(self, wait: float = 5.0) -> None:
        """Start the listener; wait until LISTEN runs so no change is missed from then on."""
        self._thread.start()
        self._listening.wait(wait)

    def stop(self) -> None:
        self._stop.set()

    @property
    def active(self) -> bool:
        return self._listening.is_set()

    # -- tiles ---------------------------------------------------------------------------------

    def generation(self) -> int:
        return self._tile_generation

    def get(self, key: Hashable) -> bytes | None:
        if not self.active:
            return None
        with self._lock:
            body = self._tiles.get(key)
            if body is not None:
                self._tiles.move_to_end(key)
            return body

    def put(self, key: Hashable, body: bytes, generation: int) -> None:
        """Keep ``body`` unless the data changed since ``generation`` was read."""
        if not self.active or not self.max_bytes or len(body) > self.max_bytes // 16:
            return
        with self._lock:
            if generation != self._tile_generation or key in self._tiles:
                return
            self._tiles[key] = body
            self._bytes += len(body)
            while self._bytes > self.max_bytes:
                _, old = self._tiles.popitem(last=False)
                self._bytes -= len(old)

    # -- token checks --------------------------------------------------------------------------

    def token_generation(self) -> int:
        return self._token_generation

    def principal(self, token: str) -> Any | None:
        if not self.active:
            return None
        hit = self._tokens.get(token)
        if hit is None or hit[1] < time.monotonic():
            return None
        return hit[0]

    def remember(self, token: str, principal: Any, generation: int) -> None:
        if not self.active:
            return
        with self._lock:
            if generation == self._token_generation and len(self._tokens) < 10_000:
                self._tokens[token] = (principal, time.monotonic() + TOKEN_TTL_S)

    # -- invalidation --------------------------------------------------------------------------

    def _clear(self, what: str) -> None:
        with self._lock:
            if what in ("all", "tiles", "outlines"):
                self._tile_generation += 1
                self._tiles.clear()
                self._bytes = 0
            if what in ("all", "tokens"):
                self._token_generation += 1
                self._tokens.clear()
            if what in ("all", "outlines"):
                self.outlines_stale = True

    def _listen(self) -> None:
        failures = 0
        while not self._stop.is_set() and failures < 10:  # then give up: cache bypassed
            try:
                with psycopg.connect(
                    self.database_url, autocommit=True, application_name=LISTENER_NAME
                ) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._clear("all")  # whatever happened while not listening
                    self._listening.set()
                    failures = 0
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=2.0):
                            self._clear(note.payload)
            except psycopg.Error as exc:
                failures += 1
                log.warning("tile cache listener lost its connection (%s); retrying", exc)
            finally:
                self._listening.clear()
                self._clear("all")
            self._stop.wait(1.0)
