"""Live events: one PostgreSQL LISTEN per worker process, fanned out to each SSE client's queue.

Every event is a row of ``event_log`` (migration 0021) whose id is the Server-Sent Events id;
its insert trigger announces it on channel ``riskmap_events`` with the payload plus a reserved
``_event`` object (id, kind, at, public). The hub:

- listens on its own psycopg ``AsyncConnection`` (autocommit) and reconnects with exponential
  backoff (at most 5 s apart) when the database goes away; after a reconnect it reads the rows
  it missed from ``event_log``, so no client misses an event because the listener was down;
- adopts raw notifications without ``_event`` (producers calling ``pg_notify`` directly, e.g.
  older field-report code): exactly one worker — the one holding a session advisory lock —
  inserts them into ``event_log`` and the trigger re-announces them with an id. Producers should
  call ``riskmap_event(kind, payload)`` instead; a raw notify sent while no worker holds the lock
  (a worker restarting) is dropped;
- prunes rows older than a week once an hour (the adopter only);
- gives each client a bounded queue; a client that falls 1,000 events behind is disconnected and
  catches up through ``Last-Event-ID`` on its reconnect instead of slowing the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
import weakref
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from riskmap.api.areas import AREA_EVENT_KINDS
from riskmap.geo.db.sqlfiles import SqlFiles

SQL = SqlFiles("riskmap.api.sql")

log = logging.getLogger("riskmap.events")

CHANNEL = "riskmap_events"
LISTENER_NAME = "riskmap-events"  # application_name of the listening connection
ADOPTER_LOCK = 0x7269736B6D6170  # "riskmap": the worker holding it adopts raw notifications
QUEUE_SIZE = 1000
REPLAY_LIMIT = 10_000
REPLAY_HOURS = 24
RETENTION_DAYS = 7  # the adopter worker prunes older rows once an hour
RECONNECT_MAX_S = 5.0  # the listener's longest wait between attempts: live soon after an outage
KIND = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_CLOSED = object()
_HUBS: weakref.WeakSet[EventHub] = weakref.WeakSet()


@dataclass(frozen=True)
class Event:
    """One event_log row as clients see it."""

    id: int
    kind: str
    at: str
    public: bool
    payload: dict[str, Any]

    def data(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "at": self.at, "payload": self.payload}

    @cached_property
    def wire(self) -> str:
        """The data line, serialised once per event and worker, not once per client (a wall
        map room of 500 streams spent a third of its fan-out re-serialising the same JSON)."""
        return json.dumps(self.data(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Event:
        at = row["at"]
        return cls(
            id=row["id"],
            kind=row["kind"],
            at=at.isoformat() if isinstance(at, datetime) else str(at),
            public=row["public"],
            payload=row["payload"],
        )


@dataclass(eq=False)  # compared and hashed by identity: kept in a set
class Subscription:
    """One client's view of the stream: what it may see and its queue."""

    accepts: Callable[[Event], bool]
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    overflowed: bool = False

    async def __aiter__(self) -> AsyncIterator[Event]:
        while True:
            item = await self.queue.get()
            if item is _CLOSED:
                return
            yield item


class EventHub:
    """The per-process listener and its subscribers."""

    def __init__(self, database_url: str, pool: ConnectionPool, on_event=None) -> None:
        self.database_url = database_url
        self.pool = pool
        self.subscribers: set[Subscription] = set()
        self.connected = False
        self.adopter = False
        self._on_event = on_event or (lambda event: None)
        self._task: asyncio.Task | None = None
        self._last_id = 0
        self._recent: deque[int] = deque(maxlen=REPLAY_LIMIT)
        self._recent_set: set[int] = set()
        self._ready = asyncio.Event()
        self._closing = False
        self.loop: asyncio.AbstractEventLoop | None = None
        self._jobs: set[asyncio.Task] = set()
        self._pruned = float("-inf")

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self, wait: float = 10.0) -> None:
        """Start listening; waits (up to ``wait`` s) for the first LISTEN so no event is missed."""
        self.loop = asyncio.get_running_loop()
        _HUBS.add(self)
        _end_streams_on_server_shutdown()
        self._last_id = await asyncio.to_thread(self._max_id)
        self._task = asyncio.create_task(self._run(), name="riskmap-events-listener")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), wait)

    async def stop(self) -> None:
        """End every client's stream, then the listener."""
        self.close_streams()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    def close_streams(self) -> None:
        """End all streams now (server shutting down): clients reconnect to another process."""
        self._closing = True
        for sub in list(self.subscribers):
            self._close(sub)

    # -- subscribers ----------------------------------------------------------------------------

    def subscribe(self, accepts: Callable[[Event], bool]) -> Subscription:
        sub = Subscription(accepts)
        if self._closing:
            sub.queue.put_nowait(_CLOSED)
        self.subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self.subscribers.discard(sub)

    def _close(self, sub: Subscription) -> None:
        self.subscribers.discard(sub)
        while True:
            try:
                sub.queue.put_nowait(_CLOSED)
                return
            except asyncio.QueueFull:
                sub.queue.get_nowait()  # it is being closed anyway: make room for the end mark

    def publish(self, event: Event) -> None:
        """Hand one event to every subscriber that may see it (once per id)."""
        if event.id in self._recent_set:
            return
        if len(self._recent) == self._recent.maxlen:
            self._recent_set.discard(self._recent[0])
        self._recent.append(event.id)
        self._recent_set.add(event.id)
        self._last_id = max(self._last_id, event.id)
        self._on_event(event)
        for sub in list(self.subscribers):
            if not sub.accepts(event):
                continue
            try:
                sub.queue.put_nowait(event)
            except asyncio.QueueFull:
                sub.overflowed = True
                self._close(sub)

    # -- replay ---------------------------------------------------------------------------------

    def replay(
        self, after: int, kinds: list[str] | None, public_only: bool, area: str | None = None
    ) -> list[Event]:
        """Rows after ``after`` (bounded by age and count), oldest first; ``area``: only those
        of that area prefix (api/areas.py) among the area kinds. Runs in a thread."""
        with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(
                SQL("events_replay.sql"),
                {
                    "after": after,
                    "kinds": kinds,
                    "public_only": public_only,
                    "area": area,
                    "area_kinds": sorted(AREA_EVENT_KINDS),
                    "hours": REPLAY_HOURS,
                    "limit": REPLAY_LIMIT,
                },
            ).fetchall()
        return [Event.from_row(r) for r in rows]

    def too_old(self, after: int, kinds: list[str] | None, public_only: bool) -> bool:
        """Whether events after ``after`` fell out of the replay window. Runs in a thread."""
        with self.pool.connection() as conn:
            row = conn.execute(
                SQL("events_too_old.sql"),
                {"after": after, "kinds": kinds, "public_only": public_only, "hours": REPLAY_HOURS},
            ).fetchone()
        return bool(row[0])

    def _prune(self) -> None:
        with self.pool.connection() as conn:
            conn.execute(SQL("events_prune.sql"), {"days": RETENTION_DAYS})

    def _max_id(self) -> int:
        with self.pool.connection() as conn:
            return conn.execute(SQL("events_max_id.sql")).fetchone()[0]

    # -- the listener ---------------------------------------------------------------------------

    async def _run(self) -> None:
        delay = 0.5
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.database_url, autocommit=True, application_name=LISTENER_NAME
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    await self._catch_up()
                    self.connected, delay = True, 0.5
                    self._ready.set()
                    log.info("listening on %s", CHANNEL)
                    await self._listen(conn)
            except asyncio.CancelledError:
                self.connected = self.adopter = False
                raise
            except Exception as exc:  # any failure of the connection: reconnect, never give up
                self.connected = self.adopter = False
                log.warning("event listener lost the database (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_S)

    async def _listen(self, conn: psycopg.AsyncConnection) -> None:
        while True:
            if not self.adopter:
                cur = await conn.execute("SELECT pg_try_advisory_lock(%s)", [ADOPTER_LOCK])
                self.adopter = bool((await cur.fetchone())[0])
            if self.adopter and time.monotonic() - self._pruned > 3600:
                self._pruned = time.monotonic()
                self._spawn(asyncio.to_thread(self._prune))
            # The generator holds the connection lock: DB work waits for the window to close.
            async for note in conn.notifies(timeout=2.0):
                self._received(note.payload)

    def _received(self, text: str) -> None:
        try:
            body = json.loads(text)
            meta = body.pop("_event", None) if isinstance(body, dict) else None
        except ValueError:
            body, meta = {"text": text}, None
        if meta is None:
            if self.adopter:
                self._spawn(self._adopt(body if isinstance(body, dict) else {"value": body}))
            return
        if meta.get("truncated"):
            self._spawn(self._fetch(int(meta["id"])))
            return
        self.publish(Event(int(meta["id"]), meta["kind"], meta["at"], bool(meta["public"]), body))

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._jobs.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(self._jobs.discard)
        task.add_done_callback(_log_failure)

    async def _adopt(self, body: dict[str, Any]) -> None:
        kind = "observation" if body.get("type") == "ingest" else body.get("kind", "message")
        kind = kind if isinstance(kind, str) and KIND.match(kind) else "message"
        await asyncio.to_thread(self._insert, kind, body)

    def _insert(self, kind: str, body: dict[str, Any]) -> None:
        with self.pool.connection() as conn:
            sql = SQL("events_adopt.sql")
            conn.execute(sql, {"kind": kind, "payload": Jsonb(body)})

    async def _fetch(self, event_id: int) -> None:
        for event in await asyncio.to_thread(self.replay, event_id - 1, None, False):
            if event.id == event_id:
                self.publish(event)

    async def _catch_up(self) -> None:
        """Publish what was logged while this listener was away (nothing on the first start)."""
        for event in await asyncio.to_thread(self.replay, self._last_id, None, False):
            self.publish(event)


def _log_failure(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("event job failed: %s", task.exception())


def _end_streams_on_server_shutdown() -> None:
    """End the event streams of this loop's hubs when uvicorn starts shutting down.

    uvicorn waits for every open response to finish before it runs the lifespan shutdown, and an
    event stream never finishes by itself, so without this a server with a wall map attached
    would never stop. sse-starlette solves the same problem by wrapping ``handle_exit`` (signals
    only); wrapping ``Server.shutdown`` also covers servers stopped with ``should_exit = True``
    (tests, embedding) and several servers in one process (each hub belongs to one event loop).
    """
    try:
        from uvicorn.server import Server
    except ImportError:  # another ASGI server: streams end when the client or process goes
        return
    if getattr(Server.shutdown, "_riskmap_events", False):
        return
    original = Server.shutdown

    async def shutdown(self, *args, **kwargs):
        loop = asyncio.get_running_loop()
        for hub in list(_HUBS):
            if hub.loop is loop:
                hub.close_streams()
        return await original(self, *args, **kwargs)

    shutdown._riskmap_events = True  # type: ignore[attr-defined]
    Server.shutdown = shutdown
