"""The HJ 212-2017 TCP server: many devices in, readings out in batches, bad packets quarantined.

Each connection's bytes are cut into packets at CRLF (:class:`~.hj212.FrameSplitter`), so
partial reads and several packets per read both work; a connection silent for longer than the
idle timeout is closed (its unfinished packet quarantined as truncated). Good packets' readings
are mapped (MN, factor) → point and gathered in one batch for all connections, written every
``flush_rows`` readings or ``flush_ms`` milliseconds by :func:`~.store.store_readings` in a
worker thread, with the batch's refusals, in one transaction. A packet whose Flag asks for an
answer gets its data answer (CN=9014) only after its readings are committed: a device that
hears nothing resends, so nothing is lost when the database is away.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import psycopg

from riskmap.ingest.worksafety.hj212 import (
    FrameSplitter,
    Packet,
    PacketError,
    data_response,
    parse_packet,
)
from riskmap.ingest.worksafety.store import (
    Refused,
    Stored,
    open_log,
    point_map,
    readings_frame,
    record_batch,
    store_readings,
)

log = logging.getLogger(__name__)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


@dataclass(frozen=True)
class ServerOptions:
    """How the server runs (the face builds it from settings)."""

    host: str = "127.0.0.1"
    port: int = 0  # 0: any free port (tests, bench)
    max_frame: int = 1036  # the standard's 1024-byte data segment plus framing
    idle_timeout_s: float = 300.0
    flush_rows: int = 20_000
    flush_ms: int = 500
    reload_s: float = 60.0  # the (MN, factor) → point map is read again this often
    max_pending: int = 200_000  # readings held while the database is slow or away


@dataclass
class _Batch:
    point_n: list[int] = field(default_factory=list)
    tm_us: list[int] = field(default_factory=list)
    value: list[float] = field(default_factory=list)
    flag: list[str] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    answers: list[tuple[asyncio.StreamWriter, bytes]] = field(default_factory=list)
    nbytes: int = 0

    def __len__(self) -> int:
        return len(self.point_n)

    def merge(self, later: _Batch) -> None:
        for name in ("point_n", "tm_us", "value", "flag", "refused", "answers"):
            getattr(self, name).extend(getattr(later, name))
        self.nbytes += later.nbytes


class HJ212Server:
    """One asyncio server; ``await start()``, then ``await close()`` (which flushes)."""

    def __init__(self, database_url: str, options: ServerOptions | None = None) -> None:
        self.database_url = database_url
        self.options = options or ServerOptions()
        self.stats: Counter[str] = Counter()
        self.ingest_id: int | None = None
        self.source = ""
        self._batch = _Batch()
        self._full = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._points: dict[tuple[str, str], int] = {}
        self._mns: set[str] = set()
        self._unmapped: set[tuple[str, str]] = set()
        self._loaded_at = 0.0
        self._conn: psycopg.Connection | None = None
        self._server: asyncio.Server | None = None
        self._flusher: asyncio.Task | None = None
        self._closing = False

    async def start(self) -> tuple[str, int]:
        """Open the database side, read the point map, listen; returns the bound address."""
        await asyncio.to_thread(self._connect)
        self._server = await asyncio.start_server(
            self._handle, self.options.host, self.options.port, limit=self.options.max_frame
        )
        host, port = self._server.sockets[0].getsockname()[:2]
        self.source = f"hj212://{host}:{port}"
        self.ingest_id = await asyncio.to_thread(self._open_log)
        self._flusher = asyncio.create_task(self._flush_loop())
        log.info("HJ 212 server on %s:%s, %d device factors mapped", host, port, len(self._points))
        return host, port

    async def serve_forever(self) -> None:
        assert self._server is not None
        await self._server.serve_forever()

    async def close(self) -> None:
        """Stop listening, write what is pending, close the database connection."""
        self._closing = True
        if self._server is not None:
            self._server.close()
        if self._flusher is not None:
            self._full.set()
            await self._flusher
        await self._flush()
        if self._conn is not None:
            self._conn.close()

    async def flush(self) -> None:
        """Write the pending batch now (tests and shutdown)."""
        await self._flush()

    # --- database side (worker thread) ---------------------------------------------------

    def _connect(self) -> None:
        self._conn = psycopg.connect(self.database_url, autocommit=True)
        self._reload()

    def _reload(self) -> None:
        assert self._conn is not None
        self._points = point_map(self._conn)
        self._mns = {mn for mn, _ in self._points}
        self._loaded_at = time.monotonic()

    def _open_log(self) -> int:
        assert self._conn is not None
        return open_log(self._conn, "hj212", self.source)

    def _write(self, batch: _Batch) -> Stored:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.database_url, autocommit=True)
        conn = self._conn
        frame = readings_frame(batch.point_n, batch.tm_us, batch.value, batch.flag)
        span = None
        if len(batch):
            first, last = min(batch.tm_us), max(batch.tm_us)
            span = (_EPOCH + first * _US, _EPOCH + last * _US)
        with conn.transaction():
            stored = store_readings(conn, frame)
            assert self.ingest_id is not None
            record_batch(
                conn, self.ingest_id, self.source, stored, batch.refused, batch.nbytes, span
            )
        return stored

    # --- batching --------------------------------------------------------------------------

    async def _flush_loop(self) -> None:
        period = self.options.flush_ms / 1000
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._full.wait(), timeout=period)
            self._full.clear()
            await self._flush()
            if time.monotonic() - self._loaded_at > self.options.reload_s:
                await asyncio.to_thread(self._reload)

    async def _flush(self) -> None:
        batch, self._batch = self._batch, _Batch()
        if not len(batch) and not batch.refused:
            return
        started = time.perf_counter()
        try:
            stored = await asyncio.to_thread(self._write, batch)
        except psycopg.Error as exc:  # the database is away: keep the batch, answer nobody
            log.error("HJ 212 batch of %d readings not written: %s", len(batch), exc)
            if self._conn is not None:
                self._conn.close()
            batch.merge(self._batch)
            self._batch = batch
            if len(batch) >= self.options.max_pending:
                self._room.clear()  # stop reading devices until the database takes rows again
            return
        self.stats["flushes"] += 1
        self.stats["flush_ms"] += round((time.perf_counter() - started) * 1000)
        self.stats["stored"] += stored.inserted
        self.stats["duplicates"] += stored.duplicates
        self.stats["quarantined"] += len(batch.refused)
        for writer, answer in batch.answers:
            if not writer.is_closing():
                writer.write(answer)
        self._room.set()

    # --- connections -------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        who = f"{peer[0]}:{peer[1]}" if peer else "unknown peer"
        splitter = FrameSplitter(self.options.max_frame)
        self.stats["connections"] += 1
        try:
            while True:
                await self._room.wait()
                try:
                    async with asyncio.timeout(self.options.idle_timeout_s):  # no task per read
                        data = await reader.read(65536)
                except TimeoutError:
                    break
                if not data:
                    break
                self._batch.nbytes += len(data)
                for raw, reason in splitter.feed(data):
                    if reason is None:
                        self._packet(raw, who, writer)
                    else:
                        self._refuse(f"bytes from {who}", "header", reason, raw)
                if len(self._batch) >= self.options.flush_rows:
                    self._full.set()
                if len(self._batch) >= self.options.max_pending:
                    self._room.clear()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            left = splitter.close()
            if left is not None:
                self._refuse(f"packet from {who}", "end", left[1], left[0])
            writer.close()

    def _refuse(self, record: str, field: str | None, reason: str, raw: bytes | None) -> None:
        text = raw.decode("ascii", "replace")[:2000] if raw is not None else None
        self._batch.refused.append(Refused(record, field, reason, text))
        self.stats["refused"] += 1

    def _packet(self, raw: bytes, who: str, writer: asyncio.StreamWriter) -> None:
        self.stats["packets"] += 1
        try:
            packet = parse_packet(raw)
        except PacketError as err:
            self._refuse(f"packet from {who}", err.field, err.reason, raw)
            return
        if packet.mn not in self._mns:
            self._refuse(
                f"packet from {who}",
                "MN",
                f"unknown MN '{packet.mn[:40]}': no monitoring point has this device",
                raw,
            )
            return
        kept = self._readings(packet)
        if kept:
            answer = data_response(packet)
            if answer is not None:
                self._batch.answers.append((writer, answer))

    def _readings(self, packet: Packet) -> int:
        """Queue a packet's mapped readings; refuse its unmapped and bad factors."""
        at = f"MN {packet.mn} at {packet.tm:%Y-%m-%dT%H:%M:%SZ}"
        tm_us = (packet.tm - _EPOCH) // _US
        b = self._batch
        kept = 0
        for r in packet.readings:
            n = self._points.get((packet.mn, r.code))
            if n is None:
                # quarantined once per run: a device may carry factors nobody monitors
                if (packet.mn, r.code) not in self._unmapped:
                    self._unmapped.add((packet.mn, r.code))
                    reason = f"factor {r.code} of MN {packet.mn} is not configured (first seen)"
                    self._refuse(f"{r.code} of {at}", "factor", reason, None)
                self.stats["unmapped"] += 1
                continue
            b.point_n.append(n)
            b.tm_us.append(tm_us)
            b.value.append(r.value)
            b.flag.append(r.flag)
            kept += 1
        for p in packet.problems:
            self._refuse(f"{p.code} of {at}", p.field, p.reason, None)
        self.stats["readings"] += kept
        return kept
