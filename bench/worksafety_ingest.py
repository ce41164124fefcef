"""HJ 212-2017 readings into PostGIS: many devices on TCP against a bare COPY of the same rows.

``riskmap ingest hj212`` runs as its own process (as in production) on a new database holding
monitoring points of ten factors for every device. The bench opens one TCP connection per
device and sends real packets (``##``, length, CRC, ten factors with their data flags,
Flag=5: answer wanted); a device keeps up to WINDOW packets unanswered, as devices that resend
after a timeout do. The figure is readings committed per second: from the first byte sent to
the last answer received (the server answers only after the readings are committed).

The named peer is a bare binary ``COPY`` of the same rows straight into ``ws_reading`` (its
partitions already made, its primary key in place): the floor of any way in. Also timed on the
same rows: :func:`store_readings` alone, once without a duplicate (its COPY in a savepoint) and
once with one reading sent twice (the COPY fails on the key and the batch goes through a
staging table and ``INSERT … ON CONFLICT DO NOTHING``), so the socket side and the two write
paths can each be read. The database is dropped afterwards.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql

from bench.common import free_port, with_db
from bench.databases import create_database
from bench.results import Row, at_least, record, scaled
from riskmap.geo.worksafety.readings import readings_frame, store_readings
from riskmap.ingest.worksafety.hj212 import BEIJING, frame

DEVICES = scaled(1_000, 200)
PACKETS = 100  # per device
FACTORS = 10
WINDOW = 50  # packets a device has in flight before it waits for an answer
TARGET = 50_000  # readings/s (issue 21)
START = datetime(2026, 6, 7, 8, 0, tzinfo=BEIJING)
FIXTURE = [
    "INSERT INTO dataset (id, title, synthetic, source) VALUES ('bench', '基准', true, 'bench')",
    "INSERT INTO admin_unit (code, level, parent_code, name, gb2260, stat_code, dataset_id, geom)"
    " SELECT code, level, parent, name, code, code || '000000', 'bench',"
    " ST_Multi(ST_MakeEnvelope(109.6, 27.8, 109.7, 27.9, 4326))"
    " FROM (VALUES ('430000', 'province', NULL, '湖南省'), ('431200', 'city', '430000', '怀化市'),"
    " ('431226', 'county', '431200', '麻阳县')) AS a (code, level, parent, name)",
    "INSERT INTO hazardous_site (id, name, kind, admin_code, dataset_id, geom)"
    " VALUES ('bench-dam', '基准尾矿库', 'tailings_dam', '431226', 'bench',"
    " ST_SetSRID(ST_Point(109.65, 27.85), 4326))",
    "INSERT INTO ws_site (site_id, supervising_section, config_sha256, dataset_id)"
    " VALUES ('bench-dam', '矿山股', 'bench', 'bench')",
]
POINTS = (
    "INSERT INTO ws_point (id, site_id, item, name, unit, direction, mn, factor, dataset_id, geom)"
    " SELECT 'p' || d || '-' || f, 'bench-dam', 'surface_displacement', '位移 ' || d || '-' || f,"
    " 'mm', 'above', %(prefix)s || lpad(d::text, 6, '0'), 'g' || lpad(f::text, 2, '0'), 'bench',"
    " ST_SetSRID(ST_Point(109.65, 27.85), 4326)"
    " FROM generate_series(1, %(devices)s) d, generate_series(1, %(factors)s) f"
)
MN_PREFIX = "BENCHDAM"


def _packets(device: int, rng: np.random.Generator) -> list[bytes]:
    """A device's packets: one a second, ten displacement factors with data flags."""
    mn = f"{MN_PREFIX}{device:06d}"
    out = []
    values = rng.normal(10, 2, size=(PACKETS, FACTORS))
    for k in range(PACKETS):
        t = START + timedelta(seconds=k)
        factors = ";".join(
            f"g{f + 1:02d}-Rtd={values[k, f]:.3f},g{f + 1:02d}-Flag=N" for f in range(FACTORS)
        )
        qn = t.strftime("%Y%m%d%H%M%S") + f"{device % 1000:03d}"
        out.append(
            frame(
                f"QN={qn};ST=39;CN=2011;PW=123456;MN={mn};Flag=5;"
                f"CP=&&DataTime={t:%Y%m%d%H%M%S};{factors}&&"
            )
        )
    return out


async def _device(host: str, port: int, packets: list[bytes]) -> int:
    """Send a device's packets with at most WINDOW unanswered; returns answers received."""
    reader, writer = await asyncio.open_connection(host, port)
    room = asyncio.Semaphore(WINDOW)

    async def answers() -> int:
        got = 0
        while got < len(packets):
            await reader.readuntil(b"\r\n")
            got += 1
            room.release()
        return got

    listener = asyncio.create_task(answers())
    for p in packets:
        await room.acquire()
        writer.write(p)
        await writer.drain()
    got = await asyncio.wait_for(listener, timeout=300)
    writer.close()
    return got


async def _send_all(host: str, port: int, per_device: list[list[bytes]]) -> tuple[float, int]:
    started = time.perf_counter()
    got = await asyncio.gather(*(_device(host, port, p) for p in per_device))
    return time.perf_counter() - started, sum(got)


def _wait_listening(port: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"riskmap ingest hj212 exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("riskmap ingest hj212 did not listen in time")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rows(devices: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """The same readings as the packets carry (values aside), as columns."""
    n = devices * FACTORS * PACKETS
    # point n of device d, factor f is (d - 1) * FACTORS + f (points inserted in that order)
    point = np.repeat(np.arange(1, devices * FACTORS + 1, dtype=np.int64), PACKETS)
    t0 = int(START.astimezone(UTC).timestamp() * 1_000_000)
    tm = np.tile(t0 + np.arange(PACKETS, dtype=np.int64) * 1_000_000, devices * FACTORS)
    value = np.random.default_rng(3).normal(10, 2, n)
    return point, tm, value, ["N"] * n


def _bare_copy_payload(point: np.ndarray, tm_us: np.ndarray, value: np.ndarray) -> bytes:
    """ws_reading's own column types in PostgreSQL's binary COPY format (int4, timestamptz,
    float8, bpchar), built beforehand: the COPY is all the peer does."""
    dtype = np.dtype(
        [
            ("count", ">i2"),
            ("l1", ">i4"),
            ("point", ">i4"),
            ("l2", ">i4"),
            ("tm", ">i8"),
            ("l3", ">i4"),
            ("value", ">f8"),
            ("l4", ">i4"),
            ("flag", "S1"),
        ]
    )
    rec = np.zeros(len(point), dtype=dtype)
    rec["count"], rec["l1"], rec["l2"], rec["l3"], rec["l4"] = 4, 4, 8, 8, 1
    rec["point"] = point
    rec["tm"] = tm_us - 946_684_800_000_000  # PostgreSQL's epoch, 2000-01-01
    rec["value"] = value
    rec["flag"] = b"N"
    header = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8
    return header + rec.tobytes() + b"\xff\xff"


def _empty(conn: psycopg.Connection) -> None:
    conn.execute("TRUNCATE ws_reading")
    conn.commit()


def run(url: str) -> Iterator[str]:
    name = "bench_worksafety"
    db = create_database(url, name)
    proc: subprocess.Popen | None = None
    try:
        with psycopg.connect(db) as conn:
            for statement in FIXTURE:
                conn.execute(statement)
            conn.execute(POINTS, {"prefix": MN_PREFIX, "devices": DEVICES, "factors": FACTORS})
        rng = np.random.default_rng(21)
        per_device = [_packets(d, rng) for d in range(1, DEVICES + 1)]
        readings = DEVICES * PACKETS * FACTORS
        mean_bytes = sum(len(p) for p in per_device[0]) / PACKETS
        yield (
            f"{DEVICES:,} devices × {PACKETS} packets × {FACTORS} factors = {readings:,} readings;"
            f" {mean_bytes:.0f} bytes a packet"
        )
        port = free_port()
        env = {**os.environ, "RISKMAP_DATABASE_URL": db, "RISKMAP_HJ212_PORT": str(port)}
        proc = subprocess.Popen(
            [sys.executable, "-m", "riskmap.api.cli", "ingest", "hj212"],
            env=env,
            stdout=open(os.environ.get("BENCH_HJ212_LOG", os.devnull), "w"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
        )
        _wait_listening(port, proc)
        server_cpu = _cpu_seconds(proc.pid)
        client_cpu = time.process_time()
        seconds, answers = asyncio.run(_send_all("127.0.0.1", port, per_device))
        server_cpu = _cpu_seconds(proc.pid) - server_cpu
        client_cpu = time.process_time() - client_cpu
        with psycopg.connect(db) as conn:
            landed = conn.execute("SELECT count(*) FROM ws_reading").fetchone()[0]
        if landed != readings or answers != DEVICES * PACKETS:
            raise RuntimeError(
                f"{landed:,} readings landed and {answers:,} answers of {readings:,}"
            )
        tcp_rate = readings / seconds
        yield (
            f"HJ 212 over TCP: {seconds:.2f} s, {tcp_rate:,.0f} readings/s ({answers:,} answers);"
            f" CPU: server {server_cpu:.2f} s, clients {client_cpu:.2f} s"
        )
        proc.terminate()
        proc.wait(timeout=30)
        proc = None

        point, tm_us, value, flag = _rows(DEVICES)
        payload = _bare_copy_payload(point, tm_us, value)
        with psycopg.connect(db) as conn:
            _empty(conn)
            started = time.perf_counter()
            with conn.cursor().copy(
                "COPY ws_reading (point_n, tm, value, flag) FROM STDIN (FORMAT binary)"
            ) as cp:
                cp.write(payload)
            conn.commit()
            copy_s = time.perf_counter() - started
            copy_rate = readings / copy_s
            yield f"bare binary COPY: {copy_s:.2f} s, {copy_rate:,.0f} rows/s"
            _empty(conn)
            frame = readings_frame(point, tm_us, value, flag)
            started = time.perf_counter()
            stored = store_readings(conn, frame)
            conn.commit()
            store_s = time.perf_counter() - started
            store_rate = readings / store_s
            yield (
                f"store_readings, no duplicate (COPY in a savepoint): {store_s:.2f} s,"
                f" {store_rate:,.0f} rows/s ({stored.inserted:,} inserted)"
            )
            _empty(conn)
            resent = pd.concat([frame, frame.iloc[:1]], ignore_index=True)  # one reading twice
            started = time.perf_counter()
            stored = store_readings(conn, resent)
            conn.commit()
            staged_s = time.perf_counter() - started
            staged_rate = readings / staged_s
            yield (
                f"store_readings, one duplicate (COPY fails, staging + ON CONFLICT):"
                f" {staged_s:.2f} s, {staged_rate:,.0f} rows/s ({stored.duplicates} duplicate)"
            )
        record(
            Row(
                "worksafety",
                "HJ 212 TCP → ws_reading readings/s",
                round(tcp_rate),
                "rows/s",
                peer="bare binary COPY into ws_reading",
                peer_value=round(copy_rate),
                target=f"≥ {TARGET:,} readings/s",
                passed=at_least(tcp_rate, TARGET),
                note=f"{DEVICES:,} TCP devices, {FACTORS} factors a packet, window {WINDOW}",
                extra={
                    "readings": readings,
                    "seconds": round(seconds, 3),
                    "server_cpu_s": round(server_cpu, 2),
                    "client_cpu_s": round(client_cpu, 2),
                },
            )
        )
        for label, rate in [
            ("store_readings rows/s, no duplicate (COPY in a savepoint)", store_rate),
            ("store_readings rows/s, one duplicate (staging + ON CONFLICT)", staged_rate),
        ]:
            record(
                Row(
                    "worksafety",
                    label,
                    round(rate),
                    "rows/s",
                    peer="bare binary COPY into ws_reading",
                    peer_value=round(copy_rate),
                    note="the write alone, same rows",
                )
            )
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
        with psycopg.connect(with_db(url, "postgres"), autocommit=True) as c:
            c.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
