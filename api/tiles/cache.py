"""A per-worker cache of vector tiles, emptied by PostgreSQL notifications — only as far as a
change reaches.

Why: 50 map clients looking at the same county ask for the same few hundred tiles over and
over; rendering each again costs a query, answering from memory costs nothing. Correctness comes
from the database: migrations 0019 and 0054 make every statement that changes a tiled table send
a notification on ``riskmap_tiles``, delivered at commit: ``'tiles:<table>'`` (or
``'tiles:<table>:<xmin>,<ymin>,<xmax>,<ymax>'``, the EPSG:3857 box of the changed rows) for the
data tables, ``'tiles'`` for everything tiled, ``'outlines'`` for admin units (the tiles and the
pre-simplified outlines are stale) and ``'tokens'`` for users and tokens (the token cache of
``api/auth.py``). A thread per worker (``api/notices.py``) LISTENs, in every worker of every
instance, and drops the tiles of the layers drawn from the changed table (:data:`DRAWN_FROM`),
only those that can touch the box when one is sent. Before 0054 every change emptied the whole
cache: a village's risk changing every 2 s made 50 clients render the whole list again each
time (p99 about 100 ms instead of 11–37 ms).

No stale tile can stay: a render records its layer's generation before it queries and is stored
only if no notification for that layer arrived meanwhile (a render that read the old data and
finished after the drop is thrown away). The one window is the few milliseconds between a commit
and its notification reaching the worker. While the listener is not connected the cache is
bypassed; on every (re)connect everything is dropped. An unknown table or a box that cannot be
read drops every tile. The villages and warnings tiles draw warnings in force, which also end
by the clock: they are dropped when the next one ends (:meth:`TileCache.clock_fresh`).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Hashable

import psycopg

from riskmap.api.notices import Listener
from riskmap.geo.db.sqlfiles import SqlFiles

SQL = SqlFiles("riskmap.api.sql")

CHANNEL = "riskmap_tiles"
LISTENER_NAME = "riskmap-tiles"
MAX_BYTES = 64 * 1024 * 1024  # per worker
WORLD = 20037508.342789244  # half the Web Mercator world's width, metres
# around each tile, the share of its width within which a changed box drops it: twice the
# tiles' buffer (api/tiles/mvt.py BUFFER / EXTENT), so rounding can never keep a tile it touches
MARGIN = 2 * 64 / 4096

# the vector tile layers (api/tiles/mvt.py LAYERS) drawn from each notifying table (the SQL files
# api/sql/tiles_<layer>.sql; tests/api/test_tile_invalidation.py checks this against them)
DRAWN_FROM: dict[str, frozenset[str]] = {
    "village_risk": frozenset({"villages"}),
    "warning": frozenset({"villages", "warnings"}),
    "hazard_point": frozenset({"hazard-points"}),
    "shelter": frozenset({"shelters"}),
    "station": frozenset({"stations"}),
    "river": frozenset({"rivers"}),
}
Box = tuple[float, float, float, float]
# layers drawing warnings in force (expires_at > now()): they also change when one ends
CLOCK_LAYERS = frozenset({"villages", "warnings"})
EXPIRY_RECHECK_S = 3600.0  # with no warning in force, ask again this often all the same


def tile_touches(z: int, x: int, y: int, box: Box) -> bool:
    """Whether tile z/x/y, widened by MARGIN of its width, meets ``box`` (EPSG:3857)."""
    size = 2 * WORLD / (1 << z)
    pad = size * MARGIN
    xmin, ymax = -WORLD + x * size, WORLD - y * size
    return (
        xmin - pad <= box[2]
        and box[0] <= xmin + size + pad
        and ymax - size - pad <= box[3]
        and box[1] <= ymax + pad
    )


def parse_notice(payload: str) -> tuple[frozenset[str], Box | None] | None:
    """The layers a ``'tiles:<table>[:<box>]'`` notice drops and the box they are dropped in
    (None: all their tiles); None when the notice is not one of these or names a table not
    in :data:`DRAWN_FROM` (then everything goes)."""
    kind, _, rest = payload.partition(":")
    if kind != "tiles" or not rest:
        return None
    table, _, text = rest.partition(":")
    layers = DRAWN_FROM.get(table)
    if layers is None:
        return None
    if not text:
        return layers, None
    try:
        box = tuple(float(v) for v in text.split(","))
    except ValueError:
        return layers, None
    if len(box) != 4 or not all(abs(v) < 1e9 for v in box):  # also rejects NaN
        return layers, None
    return layers, box  # type: ignore[return-value]


class TileCache:
    """Tiles (LRU, bounded in bytes), emptied by notifications."""

    def __init__(self, database_url: str, max_bytes: int = MAX_BYTES) -> None:
        self.database_url = database_url
        self.max_bytes = max_bytes
        self._tiles: OrderedDict[Hashable, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._layer_keys: dict[Hashable, set[Hashable]] = {}  # layer id → its cached keys
        self._clock = 0  # counts invalidations
        self._layer_changed: dict[Hashable, int] = {}  # layer id → clock at its last drop
        self._all_changed = 0  # clock at the last drop of everything
        self.dropped = 0  # tiles dropped by notifications (for tests and benches)
        self._expiry: float | None = None  # monotonic time the next warning in force ends
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

    def generation(self, layer: Hashable | None = None) -> int:
        """Read before a render of ``layer``, handed to :meth:`put` after it: it changes when a
        notification drops any of the layer's tiles (without ``layer``: on any notification)."""
        if layer is None:
            return self._clock
        return max(self._all_changed, self._layer_changed.get(layer, 0))

    def get(self, key: Hashable) -> bytes | None:
        if not self.active:
            return None
        with self._lock:
            body = self._tiles.get(key)
            if body is not None:
                self._tiles.move_to_end(key)
            return body

    def put(self, key: tuple, body: bytes, generation: int) -> None:
        """Keep ``body`` (key: layer id, z, x, y, …) unless a notification dropped tiles of its
        layer since ``generation`` was read."""
        if not self.active or not self.max_bytes or len(body) > self.max_bytes // 16:
            return
        with self._lock:
            if self.generation(key[0]) > generation or key in self._tiles:
                return
            self._tiles[key] = body
            self._layer_keys.setdefault(key[0], set()).add(key)
            self._bytes += len(body)
            while self._bytes > self.max_bytes:
                old_key, old = self._tiles.popitem(last=False)
                self._layer_keys[old_key[0]].discard(old_key)
                self._bytes -= len(old)

    def holds(self, layer: str, z: int, x: int, y: int) -> bool:
        """Whether any tile z/x/y of ``layer`` is cached (for any area or minute)."""
        with self._lock:
            return any(k[1:4] == (z, x, y) for k in self._layer_keys.get(layer, ()))

    # -- warnings ending by the clock ------------------------------------------------------------

    def clock_fresh(self) -> bool:
        """Whether the tiles of CLOCK_LAYERS may be served from the cache: the time the next
        warning in force ends is known and not reached. Reached: those layers are dropped (as
        by a notification) and it must be learnt again (:meth:`learn_expiry`).

        Why not a cache key per minute (as before): every minute every village tile rendered
        again at once under full load, and a tile showed an ended warning for up to a minute."""
        if self._expiry is None:
            return False
        if time.monotonic() < self._expiry:
            return True
        with self._lock:
            if self._expiry is not None and time.monotonic() >= self._expiry:
                self._expiry = None
                self._drop_layers(CLOCK_LAYERS, None)
        return False

    def learn_expiry(self, conn: psycopg.Connection) -> None:
        """Ask the database when the next warning in force ends (blocking: in a thread). Kept
        only if no notification for the warnings came meanwhile; the clock starts before the
        question, so the tiles are dropped on time or a little early, never late."""
        generation = self.generation("warnings")
        asked = time.monotonic()
        seconds = conn.execute(SQL("tiles_next_expiry.sql")).fetchone()[0]
        with self._lock:
            if self.generation("warnings") == generation:
                wait = EXPIRY_RECHECK_S if seconds is None else min(seconds, EXPIRY_RECHECK_S)
                self._expiry = asked + wait

    # -- invalidation --------------------------------------------------------------------------

    def _clear(self, what: str) -> None:
        with self._lock:
            if what in ("all", "tiles", "outlines"):
                self._clear_all_locked()
            elif what.startswith("tiles:"):
                self._drop(what)
            if what in ("all", "outlines"):
                self.outlines_stale = True

    def _drop(self, what: str) -> None:
        """Drop the tiles a ``'tiles:…'`` notice names (under the lock)."""
        found = parse_notice(what)
        if found is None:  # a table this worker does not know: drop everything
            self._clear_all_locked()
            return
        self._drop_layers(*found)

    def _drop_layers(self, layers: frozenset[str], box: Box | None) -> None:
        """Drop the tiles of ``layers`` (only those touching ``box`` when given; under the lock)."""
        self._clock += 1
        if "warnings" in layers:  # (drawn from the warning table alone) its end may have changed
            self._expiry = None
        for layer in layers:
            self._layer_changed[layer] = self._clock
            keys = self._layer_keys.get(layer)
            if not keys:
                continue
            gone = [k for k in keys if box is None or tile_touches(k[1], k[2], k[3], box)]
            for k in gone:
                keys.discard(k)
                self._bytes -= len(self._tiles.pop(k))
            self.dropped += len(gone)

    def _clear_all_locked(self) -> None:
        self._expiry = None
        self._clock += 1
        self._all_changed = self._clock
        self.dropped += len(self._tiles)
        self._tiles.clear()
        self._layer_keys.clear()
        self._bytes = 0
