"""The HJ 212 server for real: TCP clients on 127.0.0.1, the server, PostGIS. Readings land,
answers are right (checked with the tests' own bitwise CRC), bad packets are quarantined with
their reasons, a packet sent in halves works, duplicates do not sink a batch."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import psycopg

from riskmap.geo.worksafety.readings import store_readings
from riskmap.ingest.worksafety.server import HJ212Server, ServerOptions
from riskmap.ingest.worksafety.sink import SinkOptions
from tests.worksafety.hj212_db import (  # noqa: F401 (fixtures)
    POINT_N,
    ws_template_fixture,
    ws_url_fixture,
)
from tests.worksafety.hj212_packets import bitwise_crc, wrap

OPTIONS = ServerOptions(idle_timeout_s=5.0, sink=SinkOptions(flush_ms=50, flush_rows=1000))


def dam(qn: str, when: str, gp1: str, pl: str, flag: int = 5) -> str:
    return (
        f"QN={qn};ST=39;CN=2011;PW=123456;MN=WK0001DAM;Flag={flag};CP=&&DataTime={when};"
        f"g01-Rtd={gp1},g01-Flag=N;a01001-Rtd={pl},a01001-Flag=N&&"
    )


def expected_answer(qn: str, mn: str = "WK0001DAM") -> bytes:
    seg = f"QN={qn};ST=91;CN=9014;PW=123456;MN={mn};Flag=4;CP=&&&&".encode()
    return b"##" + f"{len(seg):04d}".encode() + seg + f"{bitwise_crc(seg):04X}".encode() + b"\r\n"


async def _session(url: str, script, options: ServerOptions = OPTIONS):
    """Run the server, hand its address to ``script``, flush and close; returns the server."""
    server = HJ212Server(url, options)
    host, port = await server.start()
    try:
        await script(host, port)
        await asyncio.sleep(0.3)  # the server reads what the clients sent last
        await server.flush()
    finally:
        await server.close()
    return server


async def _answer(reader: asyncio.StreamReader) -> bytes:
    return await asyncio.wait_for(reader.readuntil(b"\r\n"), timeout=5)


def _rows(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT point_n, tm, value, flag FROM ws_reading ORDER BY 1, 2"
        ).fetchall()


def _quarantine(url: str, ingest_id: int) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT field, reason FROM quarantine WHERE ingest_id = %s ORDER BY id", [ingest_id]
        ).fetchall()


def test_readings_land_and_the_answer_is_the_standards(ws_url: str) -> None:
    answers: list[bytes] = []

    async def script(host: str, port: int) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(wrap(dam("20260607085501223", "20260607085500", "1.25", "312.5")))
        answers.append(await _answer(reader))
        # no answer wanted (Flag=4): the reading still lands
        writer.write(wrap(dam("20260607085601000", "20260607085600", "1.5", "312.6", flag=4)))
        await writer.drain()
        writer.close()

    server = asyncio.run(_session(ws_url, script))
    assert answers == [expected_answer("20260607085501223")]
    t1, t2 = datetime(2026, 6, 7, 0, 55, tzinfo=UTC), datetime(2026, 6, 7, 0, 56, tzinfo=UTC)
    g, p = POINT_N["dam1-gp1"], POINT_N["dam1-pl"]
    assert _rows(ws_url) == [
        (g, t1, 1.25, "N"),
        (g, t2, 1.5, "N"),
        (p, t1, 312.5, "N"),
        (p, t2, 312.6, "N"),
    ]
    with psycopg.connect(ws_url) as conn:
        kind, status, loaded, quarantined = conn.execute(
            "SELECT kind, status, rows_loaded, rows_quarantined FROM ingest_log WHERE id = %s",
            [server.ingest_id],
        ).fetchone()
    assert (kind, status, loaded, quarantined) == ("hj212", "loaded", 4, 0)


def test_a_packet_sent_in_halves_and_packets_sent_together(ws_url: str) -> None:
    answers: list[bytes] = []
    one = wrap(dam("20260607090001000", "20260607090000", "2.0", "313.0"))
    two = wrap(dam("20260607090101000", "20260607090100", "2.1", "313.1"))
    three = wrap(dam("20260607090201000", "20260607090200", "2.2", "313.2"))

    async def script(host: str, port: int) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(one[:37])
        await writer.drain()
        await asyncio.sleep(0.3)  # the server has read half a packet, and flushed meanwhile
        writer.write(one[37:] + two + three[:10])
        await writer.drain()
        await asyncio.sleep(0.1)
        writer.write(three[10:])
        answers.extend([await _answer(reader) for _ in range(3)])
        writer.close()

    asyncio.run(_session(ws_url, script))
    assert answers == [
        expected_answer("20260607090001000"),
        expected_answer("20260607090101000"),
        expected_answer("20260607090201000"),
    ]
    assert [r[2] for r in _rows(ws_url)] == [2.0, 2.1, 2.2, 313.0, 313.1, 313.2]


def test_bad_packets_are_quarantined_with_their_reasons(ws_url: str) -> None:
    got: list[bytes] = []
    good = dam("20260607100001000", "20260607100000", "3.0", "314.0")

    async def script(host: str, port: int) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(wrap(good, crc=0x1234))  # wrong CRC
        writer.write(wrap(good, length=len(good) - 1))  # wrong length
        writer.write(wrap(good.replace("WK0001DAM", "WK9999XXX")))  # unknown MN
        writer.write(wrap(good.replace("20260607100000", "20261307100000")))  # bad DataTime
        writer.write(b"hello\r\n")  # no ##
        writer.write(b"\x00\xff noise\r\n")  # NUL, which no text column stores
        # a known device with one bad value and one factor nobody configured: the good one stays
        writer.write(wrap(good.replace("g01-Rtd=3.0", "g01-Rtd=x").replace("&&D", "&&w1-Rtd=1;D")))
        got.append(await _answer(reader))
        await writer.drain()
        writer.close()
        # a device that sends half a packet and hangs up
        _, w2 = await asyncio.open_connection(host, port)
        w2.write(wrap(good)[:50])
        await w2.drain()
        w2.close()
        await asyncio.sleep(0.2)

    server = asyncio.run(_session(ws_url, script))
    assert got == [expected_answer("20260607100001000")]  # answered: a reading was kept
    assert _rows(ws_url) == [(POINT_N["dam1-pl"], datetime(2026, 6, 7, 2, tzinfo=UTC), 314.0, "N")]
    q = _quarantine(ws_url, server.ingest_id)
    crc = bitwise_crc(good.encode())
    assert q == [
        ("CRC", f"wrong CRC: packet says 1234, data segment gives {crc:04X}"),
        (
            "length",
            f"wrong length: header says {len(good) - 1} bytes, data segment has {len(good)}",
        ),
        ("MN", "unknown MN 'WK9999XXX': no monitoring point has this device"),
        ("DataTime", "bad DataTime '20261307100000': no such date or time"),
        ("header", "no '##' packet header"),
        ("header", "no '##' packet header"),
        ("factor", "factor w1 of MN WK0001DAM is not configured (first seen)"),
        ("g01-Rtd", "bad value 'x': not a number"),
        ("end", "truncated: connection ended 50 bytes into a packet"),
    ]
    with psycopg.connect(ws_url) as conn:
        status, loaded, quarantined = conn.execute(
            "SELECT status, rows_loaded, rows_quarantined FROM ingest_log WHERE id = %s",
            [server.ingest_id],
        ).fetchone()
    assert (status, loaded, quarantined) == ("partial", 1, 9)


def test_a_resent_packet_is_a_duplicate_not_a_failure(ws_url: str) -> None:
    answers: list[bytes] = []
    packet = wrap(dam("20260607110001000", "20260607110000", "4.0", "315.0"))
    other = wrap(dam("20260607110101000", "20260607110100", "4.1", "315.1"))

    async def script(host: str, port: int) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(packet + packet + other)  # one batch holding a duplicate
        answers.extend([await _answer(reader) for _ in range(3)])
        writer.write(packet)  # and a resend in a later batch
        answers.append(await _answer(reader))
        writer.close()

    server = asyncio.run(_session(ws_url, script))
    assert len(answers) == 4 and answers[0] == answers[1] == answers[3]
    assert len(_rows(ws_url)) == 4
    assert (server.stats["stored"], server.stats["duplicates"]) == (4, 4)


def test_a_silent_connection_is_closed(ws_url: str) -> None:
    seen: list[bytes] = []

    async def script(host: str, port: int) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        seen.append(await asyncio.wait_for(reader.read(100), timeout=5))  # b"": closed by server
        writer.close()

    options = ServerOptions(idle_timeout_s=0.3, sink=SinkOptions(flush_ms=50))
    asyncio.run(_session(ws_url, script, options))
    assert seen == [b""]


def test_store_readings_makes_partitions_and_skips_duplicates(ws_url: str) -> None:
    june = datetime(2026, 6, 30, 23, 59, tzinfo=UTC)
    july = datetime(2026, 7, 1, 0, 0, tzinfo=UTC)
    with psycopg.connect(ws_url) as conn:
        first = store_readings(conn, [(1, june, 1.0, "N"), (1, july, 2.0, "M")])
        again = store_readings(conn, [(1, july, 9.0, "N"), (2, july, 3.0, "N")])
        parts = conn.execute(
            "SELECT tableoid::regclass::text, point_n, value, flag FROM ws_reading ORDER BY 2, 3"
        ).fetchall()
    assert (first.inserted, first.duplicates) == (2, 0)
    assert (again.inserted, again.duplicates) == (1, 1)
    assert parts == [
        ("ws_reading_202606", 1, 1.0, "N"),
        ("ws_reading_202607", 1, 2.0, "M"),  # the first value stays
        ("ws_reading_202607", 2, 3.0, "N"),
    ]


def test_database_lost_mid_run_keeps_the_batch_and_answers_after_it_lands(ws_url: str) -> None:
    packet = wrap(dam("20260607120001000", "20260607120000", "5.0", "316.0"))
    heard: list[bytes] = []

    async def run() -> HJ212Server:
        options = ServerOptions(sink=SinkOptions(flush_ms=60_000))  # flushed by hand below
        server = HJ212Server(ws_url, options)
        host, port = await server.start()
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(packet)
        await writer.drain()
        await asyncio.sleep(0.3)
        with psycopg.connect(ws_url, autocommit=True) as admin:  # the database restarts
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        await server.flush()  # fails: nothing written, nothing answered
        try:
            heard.append(await asyncio.wait_for(reader.readuntil(b"\r\n"), timeout=0.5))
        except TimeoutError:
            heard.append(b"")
        await server.flush()  # connects again and writes the kept batch
        heard.append(await _answer(reader))
        writer.close()
        await server.close()
        return server

    server = asyncio.run(run())
    assert heard == [b"", expected_answer("20260607120001000")]
    assert [r[2] for r in _rows(ws_url)] == [5.0, 316.0]
    assert server.stats["stored"] == 2


def test_a_point_configured_while_running_is_mapped_at_once(ws_url: str) -> None:
    answers: list[bytes] = []
    seg = (
        "QN=20260607130001000;ST=39;CN=2011;PW=123456;MN=WK0003NEW;Flag=5;CP=&&"
        "DataTime=20260607130000;a01001-Rtd=21.5,a01001-Flag=N&&"
    )

    async def script(server: HJ212Server, host: str, port: int) -> None:
        await asyncio.wait_for(server.sink.listening.wait(), timeout=5)
        with psycopg.connect(ws_url) as conn:  # a site configuration loaded meanwhile
            conn.execute(
                "INSERT INTO ws_point (id, site_id, item, name, unit, direction, mn, factor,"
                " dataset_id, geom) SELECT 'chem1-t', 'chem1', 'temperature', '罐温 T1', '°C',"
                " 'above', 'WK0003NEW', 'a01001', 't', geom FROM ws_point WHERE id = 'chem1-lel'"
            )
        await asyncio.sleep(0.5)  # heard on ws_points; reloaded by the flush loop
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(wrap(seg))
        answers.append(await _answer(reader))
        writer.close()

    async def run() -> None:
        options = ServerOptions(sink=SinkOptions(flush_ms=50, reload_s=3600))
        server = HJ212Server(ws_url, options)
        host, port = await server.start()
        try:
            await script(server, host, port)
        finally:
            await server.close()

    asyncio.run(run())
    assert answers == [expected_answer("20260607130001000", mn="WK0003NEW")]
    assert [r[2] for r in _rows(ws_url)] == [21.5]
