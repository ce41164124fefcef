"""A per-worker cache of vector tiles, emptied by PostgreSQL notifications.

Why: 50 map clients looking at the same county ask for the same few hundred tiles over and
over; rendering each again costs a query, answering from memory costs nothing. Correctness comes
from the database: migration 0019 makes every statement that changes a tiled table (villages,
risk, warnings, hazard points, shelters, stations) send ``NOTIFY riskmap_tiles, 'tiles'`` and
every change to users or tokens ``'tokens'`` (for the token cache of ``api/auth.py``), to admin
units ``'outlines'`` (the tiles and the pre-simplified outlines are stale); notifications are
delivered at commit. A thread per worker (``api/notices.py``) LISTENs and empties the cache, in
every worker of every instance.

No stale tile can stay: a render records the cache generation before it queries and is stored
only if no notification arrived meanwhile (a render that read the old data and finished after
the emptying is thrown away). The one window is the few milliseconds between a commit and its
notification reaching the worker. While the listener is not connected the cache is bypassed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

from riskmap.api.notices import Listener

CHANNEL = "riskmap_tiles"
LISTENER_NAME = "riskmap-tiles"
MAX_BYTES = 64 * 1024 * 1024  # per worker


class TileCache:
    """Tiles (LRU, bounded in bytes), emptied by notifications."""

    def __init__(self, database_url: str, max_bytes: int = MAX_BYTES) -> None:
        self.database_url = database_url
        self.max_bytes = max_bytes
        self._tiles: OrderedDict[Hashable, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._tile_generation = 0
        self.outlines_stale = True  # rebuild queued outlines before the first render
        self.listener = Listener(database_url, CHANNEL, LISTENER_NAME, self._clear)

    def start(self, wait: float = 5.0) -> None:
        """Start the listener; wait until LISTEN runs so no change is missed from then on."""
        self.listener.start(wait)

    def stop(self) -> None:
        self.listener.stop()

    @property
    def active(self) -> bool:
        return self.listener.active

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

    # -- invalidation --------------------------------------------------------------------------

    def _clear(self, what: str) -> None:
        with self._lock:
            if what in ("all", "tiles", "outlines"):
                self._tile_generation += 1
                self._tiles.clear()
                self._bytes = 0
            if what in ("all", "outlines"):
                self.outlines_stale = True
