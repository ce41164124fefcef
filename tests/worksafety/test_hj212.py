"""HJ 212-2017 packets written out by hand and published ones: their parse or their refusal."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from riskmap.ingest.worksafety.hj212 import (
    FrameSplitter,
    PacketError,
    Reading,
    crc16,
    data_response,
    parse_packet,
)
from tests.worksafety.hj212_packets import (
    AIR_4F40_WRONG_LENGTH,
    AIR_D801,
    ANNEX_A,
    ANSWER_C241,
    WATER_A9C1,
    bitwise_crc,
    wrap,
)

DAM = (
    "QN=20260607085501223;ST=39;CN=2011;PW=123456;MN=WK0001DAM;Flag=5;CP=&&"
    "DataTime=20260607085500;a01001-Rtd=12.3,a01001-Flag=N;g01-Rtd=-4.25,g01-Flag=D&&"
)


def _refusal(raw: bytes) -> PacketError:
    with pytest.raises(PacketError) as info:
        parse_packet(raw)
    return info.value


def test_both_crcs_give_the_published_values() -> None:
    for packet, published in [(ANNEX_A, 0x1C80), (AIR_D801, 0xD801), (WATER_A9C1, 0xA9C1)]:
        segment = packet[6:-6]
        assert bitwise_crc(segment) == published
        assert crc16(segment) == published
    rng = random.Random(212)
    for _ in range(200):  # the table-driven CRC agrees with the step-by-step one
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 300)))
        assert crc16(data) == bitwise_crc(data)


def test_published_real_time_upload_parses() -> None:
    p = parse_packet(AIR_D801)
    assert (p.qn, p.st, p.cn, p.mn) == ("20180507000558", "39", "2011", "010000A00000000000A00654")
    assert p.flag.value == 0 and not p.flag.answer_required
    assert p.tm == datetime(2018, 5, 6, 16, 5, 58, tzinfo=UTC)  # 00:05:58 Beijing
    assert p.readings == (
        Reading("a01001", 26.0, "N"),
        Reading("a01002", 30.4, "N"),
        Reading("a34001", 0.0, "N"),
        Reading("a34002", 24.0, "N"),
        Reading("a34004", 23.0, "N"),
    )
    assert data_response(p) is None  # Flag asks for no answer
    water = parse_packet(WATER_A9C1)  # lower-case CRC, no QN
    assert water.qn is None and [r.code for r in water.readings] == ["060", "011", "001", "B01"]
    assert water.readings[0].value == 3.0943


def test_published_wrong_length_and_other_command_are_refused() -> None:
    err = _refusal(AIR_4F40_WRONG_LENGTH)
    assert err.field == "length"
    assert str(err) == "wrong length: header says 481 bytes, data segment has 482"
    err = _refusal(ANNEX_A)  # length and CRC right; CN=1062 sets an interval, carries no data
    assert err.field == "CN" and str(err).startswith("CN=1062 is not a data upload")


def test_hand_written_valid_packet() -> None:
    p = parse_packet(wrap(DAM))
    assert (p.qn, p.pw, p.mn, p.cn) == ("20260607085501223", "123456", "WK0001DAM", "2011")
    assert p.flag.answer_required and p.flag.version == 1 and not p.flag.split
    assert p.tm == datetime(2026, 6, 7, 0, 55, tzinfo=UTC)
    assert p.readings == (Reading("a01001", 12.3, "N"), Reading("g01", -4.25, "D"))
    assert p.problems == ()


def test_flag_bits() -> None:
    # Flag=7: answer wanted (A), split packet (D), version bits 000001 = HJ 212-2017
    split = DAM.replace("Flag=5;", "PNUM=2;PNO=1;Flag=7;")
    p = parse_packet(wrap(split))
    assert (p.flag.answer_required, p.flag.split, p.flag.version) == (True, True, 1)
    old = parse_packet(wrap(DAM.replace("Flag=5", "Flag=0")))  # HJ/T 212-2005: no bits
    assert (old.flag.answer_required, old.flag.split, old.flag.version) == (False, False, 0)
    assert data_response(old) is None


def test_minute_and_hour_data_take_the_average() -> None:
    seg = (
        "QN=20260607090000000;ST=39;CN=2061;PW=1;MN=M1;Flag=4;CP=&&DataTime=20260607080000;"
        "w01018-Min=6.1,w01018-Avg=7.5,w01018-Max=9.0,w01018-Flag=N;w00000-Cou=300&&"
    )
    p = parse_packet(wrap(seg))
    assert p.readings == (Reading("w01018", 7.5, "N"),)  # -Cou alone is no reading
    assert not p.flag.answer_required


def test_data_response_matches_the_published_answer() -> None:
    # the upload of that exchange (QN …85000001, Flag=5: answer wanted), written by hand
    upload = (
        "QN=20160801085000001;ST=22;CN=2011;PW=123456;MN=010000A8900016F000169DC0;Flag=5;"
        "CP=&&DataTime=20160801084000;a21005-Rtd=1.1,a21005-Flag=N&&"
    )
    assert data_response(parse_packet(wrap(upload))) == ANSWER_C241


def test_data_response_is_9014_with_the_request_qn() -> None:
    answer = data_response(parse_packet(wrap(DAM)))
    segment = b"QN=20260607085501223;ST=91;CN=9014;PW=123456;MN=WK0001DAM;Flag=4;CP=&&&&"
    assert answer == b"##%04d" % len(segment) + segment + b"%04X\r\n" % bitwise_crc(segment)


@pytest.mark.parametrize(
    ("raw", "field", "reason"),
    [
        (wrap(DAM, crc=0x1234), "CRC", "wrong CRC: packet says 1234, data segment gives "),
        (wrap(DAM, length=len(DAM) + 1), "length", "wrong length: header says"),
        (wrap(DAM)[:-2], "end", "truncated: no CRLF end"),
        (wrap(DAM)[:60] + b"\r\n", "length", "wrong length: header says"),
        (b"@#" + wrap(DAM)[2:], "header", "no '##' packet header"),
        (b"##01x0" + wrap(DAM)[6:], "length", "length b'01x0' is not 4 decimal digits"),
        (wrap(DAM.replace("20260607085500", "20260631085500")), "DataTime", "bad DataTime"),
        (wrap(DAM.replace("DataTime=20260607085500;", "DataTime=2026-06-07;")), "DataTime", "bad"),
        (wrap(DAM.replace("CN=2011", "CN=2031")), "CN", "CN=2031 is not a data upload"),
        (wrap(DAM.replace("MN=WK0001DAM;", "")), "MN", "header has no MN"),
        (wrap(DAM.replace("Flag=5", "Flag=x")), "Flag", "Flag 'x' is not a number"),
        (wrap(DAM[: DAM.index("CP=")]), "CP", "data segment has no CP=&&"),
    ],
)
def test_refusals_name_the_field_and_reason(raw: bytes, field: str, reason: str) -> None:
    err = _refusal(raw)
    assert err.field == field
    assert str(err).startswith(reason)


def test_bad_value_and_bad_flag_refuse_only_that_factor() -> None:
    seg = DAM.replace("g01-Rtd=-4.25", "g01-Rtd=abc").replace("&&", "&&p9-Rtd=nan;", 1)
    seg = seg.replace(";g01-Rtd", ";q1-Rtd=1,q1-Flag=Z;g01-Rtd")
    p = parse_packet(wrap(seg))
    assert p.readings == (Reading("a01001", 12.3, "N"),)
    assert sorted((x.field, x.reason) for x in p.problems) == [
        ("g01-Rtd", "bad value 'abc': not a number"),
        ("p9-Rtd", "bad value 'nan': not a number"),
        ("q1-Flag", "unknown data flag 'Z' (N F M S D C T B)"),
    ]


def test_splitter_handles_partial_reads_and_several_packets_per_read() -> None:
    one, two = wrap(DAM), wrap(DAM.replace("12.3", "12.4"))
    stream = b"junk\r\n" + one + two + b"xx" + one
    splitter = FrameSplitter()
    got: list[tuple[bytes, str | None]] = []
    for i in range(0, len(stream), 7):  # 7-byte reads cut packets anywhere
        got += splitter.feed(stream[i : i + 7])
    assert got == [
        (b"junk\r\n", "no '##' packet header"),
        (one, None),
        (two, None),
        (b"xx", "2 bytes before the '##' header"),
        (one, None),
    ]
    splitter.feed(one[:30])
    assert splitter.close() == (one[:30], "truncated: connection ended 30 bytes into a packet")
    assert splitter.close() is None


def test_splitter_drops_a_frame_that_never_ends() -> None:
    splitter = FrameSplitter(max_frame=100)
    got = splitter.feed(b"##0500" + b"a" * 120)
    assert [reason for _, reason in got] == ["no CRLF within 100 bytes: too long"]
    again = wrap(DAM[:60] + "&&")
    assert splitter.feed(again) == [(again, None)]  # the next packet is read again
