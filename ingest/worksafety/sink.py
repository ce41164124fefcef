"""Where device readings gather before the database: one batch, written every ``flush_rows``
readings or ``flush_ms`` milliseconds in a worker thread, with the batch's refusals and counts,
in one transaction. The HJ 212 server and the MQTT subscriber each own one (their own
ingest_log row, kind 'hj212' or 'mqtt'); what must wait for the commit (an HJ 212 answer) is
handed over as a callback and run after it. When the database is away the batch is kept and
readers are held (``room``) once ``max_pending`` readings wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import psycopg

from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.worksafety.readings import (
    Stored,
    drop_old_readings,
    point_ids,
    point_map,
    readings_frame,
    store_readings,
)
from riskmap.ingest.worksafety.provenance import Refused, open_log, record_batch

log = logging.getLogger(__name__)
SQL = SqlFiles("riskmap.ingest.worksafety.sql")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class SinkOptions:
    """Batching and the point map's freshness."""

    flush_rows: int = 20_000
    flush_ms: int = 500
    reload_s: float = 60.0  # the point maps are read again this often
    max_pending: int = 200_000  # readings held while the database is slow or away
    retention_days: int = 0  # drop months of readings older than this (0: keep everything)
    retention_every_s: float = 6 * 3600.0


@dataclass
class _Batch:
    point_n: list[int] = field(default_factory=list)
    tm_us: list[int] = field(default_factory=list)
    value: list[float] = field(default_factory=list)
    flag: list[str] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    after: list[Callable[[], None]] = field(default_factory=list)
    nbytes: int = 0

    def __len__(self) -> int:
        return len(self.point_n)

    def merge(self, later: _Batch) -> None:
        for name in ("point_n", "tm_us", "value", "flag", "refused", "after"):
            getattr(self, name).extend(getattr(later, name))
        self.nbytes += later.nbytes


class ReadingSink:
    """``await start(source)``, then ``add`` / ``refuse`` / ``after_commit`` from the event
    loop, ``await close()`` to write what is left."""

    def __init__(self, database_url: str, kind: str, options: SinkOptions | None = None) -> None:
        self.database_url = database_url
        self.kind = kind
        self.options = options or SinkOptions()
        self.stats: Counter[str] = Counter()
        self.ingest_id: int | None = None
        self.source = ""
        self.by_device: dict[tuple[str, str], int] = {}  # (MN, factor) → point n
        self.devices: set[str] = set()
        self.by_id: dict[str, int] = {}  # point id → n
        self.room = asyncio.Event()  # set while readers may read more
        self.room.set()
        self._batch = _Batch()
        self._full = asyncio.Event()
        self._loaded_at = 0.0
        self._retained_at = -float("inf")  # retention first runs at start
        self._conn: psycopg.Connection | None = None
        self._loop_task: asyncio.Task | None = None
        self._listen_task: asyncio.Task | None = None
        self.listening = asyncio.Event()  # set while ws_point changes are heard
        self._closing = False

    async def start(self, source: str) -> None:
        """Connect, read the point maps, open this run's ingest_log row, start flushing."""
        self.source = source
        await asyncio.to_thread(self._connect)
        self._loop_task = asyncio.create_task(self._flush_loop())
        self._listen_task = asyncio.create_task(self._listen())

    async def close(self) -> None:
        self._closing = True
        if self._listen_task is not None:
            self._listen_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listen_task
        if self._loop_task is not None:
            self._full.set()
            await self._loop_task
        await self.flush()
        if self._conn is not None:
            self._conn.close()

    def add(self, point_n: int, tm: datetime, value: float, flag: str) -> None:
        b = self._batch
        b.point_n.append(point_n)
        b.tm_us.append((tm - EPOCH) // MICROSECOND)
        b.value.append(value)
        b.flag.append(flag)
        self.stats["readings"] += 1
        if len(b) >= self.options.flush_rows:
            self._full.set()
        if len(b) >= self.options.max_pending:
            self.room.clear()

    def refuse(self, record: str, field: str | None, reason: str, raw: bytes | None) -> None:
        text = raw.decode("utf-8", "replace")[:2000] if raw is not None else None
        self._batch.refused.append(Refused(record, field, reason, text))
        self.stats["refused"] += 1

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` on the event loop once the current batch is committed."""
        self._batch.after.append(callback)

    def received(self, nbytes: int) -> None:
        self._batch.nbytes += nbytes

    async def flush(self) -> None:
        """Write the pending batch now."""
        batch, self._batch = self._batch, _Batch()
        if not len(batch) and not batch.refused:
            for callback in batch.after:
                callback()
            return
        started = time.perf_counter()
        try:
            stored = await asyncio.to_thread(self._write, batch)
        except (ValueError, psycopg.DataError, psycopg.IntegrityError) as exc:
            # the rows themselves are refused (they are checked before, so this is a bug's
            # trace): keep the refusal, drop the readings, never retry them forever
            log.error("%s batch of %d readings refused: %s", self.kind, len(batch), exc)
            reason = f"batch of {len(batch)} readings refused by the store: {exc}"[:500]
            self._batch.refused.extend(batch.refused)
            self.refuse(f"batch at {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}", None, reason, None)
            return
        except psycopg.Error as exc:  # the database is away: keep the batch, confirm nothing
            log.error("%s batch of %d readings not written: %s", self.kind, len(batch), exc)
            if self._conn is not None:
                with contextlib.suppress(psycopg.Error):
                    self._conn.close()
            batch.merge(self._batch)
            self._batch = batch
            if len(batch) >= self.options.max_pending:
                self.room.clear()  # stop reading devices until the database takes rows again
            return
        self.stats["flushes"] += 1
        log.debug("flush %d rows in %.0f ms", len(batch), (time.perf_counter() - started) * 1000)
        self.stats["flush_ms"] += round((time.perf_counter() - started) * 1000)
        self.stats["stored"] += stored.inserted
        self.stats["duplicates"] += stored.duplicates
        self.stats["quarantined"] += len(batch.refused)
        for callback in batch.after:
            callback()
        self.room.set()

    # --- database side (worker thread) ---------------------------------------------------

    def _connect(self) -> None:
        self._conn = psycopg.connect(self.database_url, autocommit=True)
        self._reload()
        self.ingest_id = open_log(self._conn, self.kind, self.source)

    def _reload(self) -> None:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.database_url, autocommit=True)
        self.by_device = point_map(self._conn)
        self.devices = {mn for mn, _ in self.by_device}
        self.by_id = point_ids(self._conn)
        self._loaded_at = time.monotonic()
        self._retain()

    def _retain(self) -> None:
        """Retention (RISKMAP_HJ212_RETENTION_DAYS): at start, then every few hours."""
        days = self.options.retention_days
        if not days or time.monotonic() - self._retained_at < self.options.retention_every_s:
            return
        self._retained_at = time.monotonic()
        dropped = drop_old_readings(self._conn, days)
        if dropped:
            log.info("%s: retention dropped %d month(s) of readings", self.kind, dropped)

    def _write(self, batch: _Batch) -> Stored:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.database_url, autocommit=True)
        conn = self._conn
        frame = readings_frame(batch.point_n, batch.tm_us, batch.value, batch.flag)
        span = None
        if len(batch):
            span = (EPOCH + min(batch.tm_us) * MICROSECOND, EPOCH + max(batch.tm_us) * MICROSECOND)
        assert self.ingest_id is not None
        with conn.transaction():
            stored = store_readings(conn, frame)
            record_batch(
                conn, self.ingest_id, self.source, stored, batch.refused, batch.nbytes, span
            )
        return stored

    async def _flush_loop(self) -> None:
        period = self.options.flush_ms / 1000
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._full.wait(), timeout=period)
            self._full.clear()
            await self.flush()
            if time.monotonic() - self._loaded_at > self.options.reload_s:
                try:
                    await asyncio.to_thread(self._reload)
                except psycopg.Error as exc:
                    log.error("%s: point map not read again: %s", self.kind, exc)

    async def _listen(self) -> None:
        """Read the point maps again as soon as ws_point changes (migration 0050 announces
        each change on channel ws_points); the flush loop does it, between two writes."""
        while not self._closing:
            try:
                aconn = await psycopg.AsyncConnection.connect(self.database_url, autocommit=True)
                async with aconn:
                    await aconn.execute(SQL("listen_points.sql"))
                    self.listening.set()
                    async for _ in aconn.notifies():
                        self._loaded_at = -math.inf
                        self._full.set()
            except psycopg.Error as exc:
                self.listening.clear()
                log.warning("%s: not hearing point changes (%s); again in 5 s", self.kind, exc)
                await asyncio.sleep(5)
