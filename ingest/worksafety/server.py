"""The HJ 212-2017 TCP server: many devices in, readings out in batches, bad packets quarantined.

Each connection's bytes are cut into packets at CRLF (:class:`~.hj212.FrameSplitter`), so
partial reads and several packets per read both work; a connection silent for longer than the
idle timeout is closed (its unfinished packet quarantined as truncated). Good packets' readings
are mapped (MN, factor) → point and gathered by a :class:`~.sink.ReadingSink` for all
connections. A packet whose Flag asks for an answer gets its data answer (CN=9014) only after
its readings are committed: a device that hears nothing resends, so nothing is lost when the
database is away (and the resent readings are duplicates, skipped).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from riskmap.ingest.worksafety.hj212 import (
    FrameSplitter,
    Packet,
    PacketError,
    data_response,
    parse_packet,
)
from riskmap.ingest.worksafety.sink import ReadingSink, SinkOptions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerOptions:
    """How the server listens (the face builds it from settings)."""

    host: str = "127.0.0.1"
    port: int = 0  # 0: any free port (tests, bench)
    max_frame: int = 1036  # the standard's 1024-byte data segment plus framing
    idle_timeout_s: float = 300.0
    sink: SinkOptions = field(default_factory=SinkOptions)
    backlog: int = 4096  # devices reconnect all at once after a restart (capped by somaxconn)


class HJ212Server:
    """One asyncio server; ``await start()``, then ``await close()`` (which flushes)."""

    def __init__(self, database_url: str, options: ServerOptions | None = None) -> None:
        self.options = options or ServerOptions()
        self.sink = ReadingSink(database_url, "hj212", self.options.sink)
        self._unmapped: set[tuple[str, str]] = set()
        self._server: asyncio.Server | None = None

    @property
    def stats(self):
        return self.sink.stats

    @property
    def ingest_id(self) -> int | None:
        return self.sink.ingest_id

    async def start(self) -> tuple[str, int]:
        """Listen, then open the database side; returns the bound address."""
        self._server = await asyncio.start_server(
            self._handle,
            self.options.host,
            self.options.port,
            limit=self.options.max_frame,
            backlog=self.options.backlog,
        )
        host, port = self._server.sockets[0].getsockname()[:2]
        await self.sink.start(f"hj212://{host}:{port}")
        n = len(self.sink.by_device)
        log.info("HJ 212 server on %s:%s, %d device factors mapped", host, port, n)
        return host, port

    async def serve_forever(self) -> None:
        assert self._server is not None
        await self._server.serve_forever()

    async def close(self) -> None:
        """Stop listening, write what is pending, close the database connection."""
        if self._server is not None:
            self._server.close()
        await self.sink.close()

    async def flush(self) -> None:
        """Write the pending batch now (tests and shutdown)."""
        await self.sink.flush()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        who = f"{peer[0]}:{peer[1]}" if peer else "unknown peer"
        splitter = FrameSplitter(self.options.max_frame)
        sink = self.sink
        sink.stats["connections"] += 1
        try:
            while True:
                await sink.room.wait()
                try:
                    async with asyncio.timeout(self.options.idle_timeout_s):  # no task per read
                        data = await reader.read(65536)
                except TimeoutError:
                    break
                if not data:
                    break
                sink.received(len(data))
                for raw, reason in splitter.feed(data):
                    if reason is None:
                        self._packet(raw, who, writer)
                    else:
                        sink.refuse(f"bytes from {who}", "header", reason, raw)
        except ConnectionError as exc:  # the device hung up or reset: its half packet is refused
            log.info("hj212: %s disconnected (%s)", who, exc)
        finally:
            left = splitter.close()
            if left is not None:
                sink.refuse(f"packet from {who}", "end", left[1], left[0])
            writer.close()

    def _packet(self, raw: bytes, who: str, writer: asyncio.StreamWriter) -> None:
        sink = self.sink
        sink.stats["packets"] += 1
        try:
            packet = parse_packet(raw)
        except PacketError as err:
            sink.refuse(f"packet from {who}", err.field, err.reason, raw)
            return
        if packet.mn not in sink.devices:
            reason = f"unknown MN '{packet.mn[:40]}': no monitoring point has this device"
            sink.refuse(f"packet from {who}", "MN", reason, raw)
            return
        if self._readings(packet):
            answer = data_response(packet)
            if answer is not None:
                sink.after_commit(lambda: writer.is_closing() or writer.write(answer))

    def _readings(self, packet: Packet) -> int:
        """Queue a packet's mapped readings; refuse its unmapped and bad factors."""
        sink = self.sink
        at = f"MN {packet.mn} at {packet.tm:%Y-%m-%dT%H:%M:%SZ}"
        kept = 0
        for r in packet.readings:
            n = sink.by_device.get((packet.mn, r.code))
            if n is None:
                # quarantined once per run: a device may carry factors nobody monitors
                if (packet.mn, r.code) not in self._unmapped:
                    self._unmapped.add((packet.mn, r.code))
                    reason = f"factor {r.code} of MN {packet.mn} is not configured (first seen)"
                    sink.refuse(f"{r.code} of {at}", "factor", reason, None)
                sink.stats["unmapped"] += 1
                continue
            sink.add(n, packet.tm, r.value, r.flag)
            kept += 1
        for p in packet.problems:
            sink.refuse(f"{p.code} of {at}", p.field, p.reason, None)
        return kept
