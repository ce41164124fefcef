"""HJ 212-2017 packets (污染物在线监控（监测）系统数据传输标准): framing, CRC, parsing, answers.

A packet is ``##`` + 4 decimal digits (the data segment's length in bytes) + the data segment
(``QN=…;ST=…;CN=…;PW=…;MN=…;Flag=…;CP=&&…&&``) + 4 hex digits of CRC16 + CRLF. Pure functions:
no sockets, no database; the TCP server (:mod:`.server`) frames the stream with
:class:`FrameSplitter` and refuses, with the reason, whatever :func:`parse_packet` refuses.

The CRC is the standard's own (Appendix A): register 0xFFFF; for each byte, the register's
*high* byte (``crc >> 8``) is XORed with the byte, then 8 reflected shifts with 0xA001. It is not
CRC-16/MODBUS (which XORs the byte into the low byte and keeps the high one): after the first
step the register is below 256, so each byte costs one lookup of the reflected-0xA001 table.
No CRC library offers this variant (crcmod and friends parametrise the standard CRCs), hence
the ten lines below. The Appendix's example ``…CP=&&RtdInterval=30&&`` → ``1C80`` is a test.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")  # DataTime and QN are Beijing time
HEADER = b"##"
END = b"\r\n"
OVERHEAD = 12  # "##" + 4 length digits + 4 CRC digits + CRLF
STANDARD_MAX_SEGMENT = 1024  # the standard's limit of a data segment (表 3: 0–1024)
# real-time, minute and hour data (实时数据, 分钟数据, 小时数据) and the value each carries
DATA_COMMANDS = {"2011": "Rtd", "2051": "Avg", "2061": "Avg"}
# a factor's data flag (数据标记, 表 5 and HJ 212-2017 6.3.4); only N counts for alarms
DATA_FLAGS = {
    "N": "正常 normal",
    "F": "停运 stopped",
    "M": "维护 maintenance",
    "S": "手工输入设定值 set by hand",
    "D": "故障 fault",
    "C": "校准 calibration",
    "T": "超测量上限 over range",
    "B": "通讯异常 communication fault",
}
_DIGITS4 = re.compile(rb"\d{4}")
_HEX4 = re.compile(rb"[0-9A-Fa-f]{4}")
_DATATIME = re.compile(r"\d{14}")
_CP_ITEM = re.compile(r"([^;,=]+)=([^;,]*)")  # key=value items of CP, split at ';' and ','


def _table() -> tuple[int, ...]:
    rows = []
    for byte in range(256):
        reg = byte
        for _ in range(8):
            reg = (reg >> 1) ^ 0xA001 if reg & 1 else reg >> 1
        rows.append(reg)
    return tuple(rows)


_TABLE = _table()


def crc16(segment: bytes) -> int:
    """HJ 212-2017 Appendix A CRC16 of a data segment (the bytes between length and CRC)."""
    reg = 0xFFFF
    table = _TABLE
    for byte in segment:
        reg = table[(reg >> 8) ^ byte]
    return reg


class PacketError(ValueError):
    """A packet refused as a whole; ``field`` names the part at fault (length, CRC, DataTime…)."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


@dataclass(frozen=True)
class Flag:
    """The header's Flag (拆分包及应答标志): bits V5…V0 D A, low bit first."""

    value: int

    @property
    def answer_required(self) -> bool:
        """A (bit 0): the sender waits for an answer (数据应答 for data uploads)."""
        return bool(self.value & 1)

    @property
    def split(self) -> bool:
        """D (bit 1): the packet is one of several (PNUM/PNO in the header)."""
        return bool(self.value & 2)

    @property
    def version(self) -> int:
        """V5…V0 (bits 2–7): 0 for HJ/T 212-2005, 1 for HJ 212-2017."""
        return self.value >> 2


@dataclass(frozen=True)
class Reading:
    """One factor's value in a packet: code (e.g. a01001), value and data flag."""

    code: str
    value: float
    flag: str


@dataclass(frozen=True)
class FactorProblem:
    """A factor refused inside an otherwise good packet (its other factors are kept)."""

    code: str
    field: str
    reason: str


@dataclass(frozen=True)
class Packet:
    """A parsed data upload; ``tm`` is DataTime in UTC (the device sends Beijing time)."""

    qn: str | None
    st: str
    cn: str
    pw: str | None
    mn: str
    flag: Flag
    tm: datetime
    readings: tuple[Reading, ...]
    problems: tuple[FactorProblem, ...] = field(default=())


def frame(segment: str) -> bytes:
    """A whole packet around a data segment: ``##``, length, segment, CRC, CRLF."""
    data = segment.encode("ascii")
    if len(data) > 9999:
        raise ValueError(f"data segment of {len(data)} bytes does not fit 4 length digits")
    return b"%s%04d%s%04X%s" % (HEADER, len(data), data, crc16(data), END)


def data_response(packet: Packet) -> bytes | None:
    """The upper computer's data answer (数据应答, ST=91 CN=9014) to a packet whose Flag asks
    for one: same QN, PW and MN, Flag=4 (version HJ 212-2017, no answer wanted), empty CP.
    None when no answer is due (A not set, or no QN to answer to)."""
    if not packet.flag.answer_required or not packet.qn:
        return None
    pw = packet.pw or ""
    return frame(f"QN={packet.qn};ST=91;CN=9014;PW={pw};MN={packet.mn};Flag=4;CP=&&&&")


def parse_packet(raw: bytes) -> Packet:
    """Check and parse one packet (``##`` … CRLF); raises :class:`PacketError` with the reason
    when it must be refused whole. Bad single factors come back in ``problems``."""
    segment = _checked_segment(raw)
    try:
        text = segment.decode("ascii")
    except UnicodeDecodeError as exc:
        raise PacketError(f"data segment is not ASCII (byte {exc.start})", "segment") from None
    cp_at = text.find("CP=&&")
    if cp_at < 0 or not text.endswith("&&") or len(text) < cp_at + 7:
        raise PacketError("data segment has no CP=&&…&& at its end", "CP")
    head = _pairs(text[:cp_at].rstrip(";").split(";"), "header")
    for key in ("ST", "CN", "MN"):
        if not head.get(key):
            raise PacketError(f"header has no {key}", key)
    cn = head["CN"]
    if cn not in DATA_COMMANDS:
        raise PacketError(
            f"CN={cn} is not a data upload this server takes"
            " (2011 real-time 实时数据, 2051 minute 分钟数据, 2061 hour 小时数据)",
            "CN",
        )
    flag_text = head.get("Flag", "0")
    if not flag_text.isdigit() or int(flag_text) > 255:
        raise PacketError(f"Flag '{flag_text}' is not a number 0–255", "Flag")
    cp = text[cp_at + 5 : -2]
    tm, readings, problems = _cp(cp, DATA_COMMANDS[cn])
    if not readings and not problems:
        raise PacketError(f"CP has no -{DATA_COMMANDS[cn]} value of any factor", "CP")
    return Packet(
        qn=head.get("QN"),
        st=head["ST"],
        cn=cn,
        pw=head.get("PW"),
        mn=head["MN"],
        flag=Flag(int(flag_text)),
        tm=tm,
        readings=tuple(readings),
        problems=tuple(problems),
    )


def _checked_segment(raw: bytes) -> bytes:
    """The data segment of a packet whose header, length, CRC and CRLF are right."""
    if not raw.startswith(HEADER):
        raise PacketError("no '##' packet header", "header")
    if not raw.endswith(END):
        raise PacketError(f"truncated: no CRLF end after {len(raw)} bytes", "end")
    if len(raw) < OVERHEAD:
        raise PacketError(f"truncated: {len(raw)} bytes, shorter than an empty packet", "length")
    if not _DIGITS4.fullmatch(raw[2:6]):
        raise PacketError(f"length {raw[2:6]!r} is not 4 decimal digits", "length")
    declared = int(raw[2:6])
    segment = raw[6:-6]
    if len(segment) != declared:
        raise PacketError(
            f"wrong length: header says {declared} bytes, data segment has {len(segment)}",
            "length",
        )
    sent = raw[-6:-2]
    if not _HEX4.fullmatch(sent):
        raise PacketError(f"CRC {sent!r} is not 4 hex digits", "CRC")
    computed = crc16(segment)
    if int(sent, 16) != computed:
        raise PacketError(
            f"wrong CRC: packet says {sent.decode()}, data segment gives {computed:04X}", "CRC"
        )
    return segment


def _pairs(items: list[str], where: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        if not item:
            continue
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise PacketError(f"{where} item '{item[:40]}' is not key=value", where)
        out[key] = value
    return out


def _cp(cp: str, kind: str) -> tuple[datetime, list[Reading], list[FactorProblem]]:
    """DataTime and each factor's ``-<kind>`` value and ``-Flag`` of a CP field."""
    values: dict[str, str] = {}
    flags: dict[str, str] = {}
    data_time: str | None = None
    value_end, cut = f"-{kind}", len(kind) + 1
    for key, value in _CP_ITEM.findall(cp):  # PNUM, PNO, -Min, -Max, -Cou… carry no reading
        if key.endswith(value_end):
            values[key[:-cut]] = value
        elif key.endswith("-Flag"):
            flags[key[:-5]] = value
        elif key == "DataTime":
            data_time = value
    tm = _data_time(data_time)
    readings: list[Reading] = []
    problems: list[FactorProblem] = []
    for code, text in values.items():
        flag = flags.get(code, "N")
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            problems.append(
                FactorProblem(code, f"{code}-{kind}", f"bad value '{text[:20]}': not a number")
            )
        elif flag not in DATA_FLAGS:
            problems.append(
                FactorProblem(
                    code, f"{code}-Flag", f"unknown data flag '{flag[:5]}' (N F M S D C T B)"
                )
            )
        else:
            readings.append(Reading(code, value, flag))
    return tm, readings, problems


def _data_time(text: str | None) -> datetime:
    if text is None:
        raise PacketError("CP has no DataTime", "DataTime")
    if not _DATATIME.fullmatch(text):
        raise PacketError(f"bad DataTime '{text[:20]}': expected YYYYMMDDhhmmss", "DataTime")
    try:
        local = datetime(  # strptime costs more than the rest of a packet's parse
            int(text[0:4]),
            int(text[4:6]),
            int(text[6:8]),
            int(text[8:10]),
            int(text[10:12]),
            int(text[12:14]),
            tzinfo=BEIJING,
        )
    except ValueError:
        raise PacketError(f"bad DataTime '{text}': no such date or time", "DataTime") from None
    return local.astimezone(UTC)


class FrameSplitter:
    """Cuts a device's byte stream into packets at CRLF, whatever the reads' boundaries.

    ``feed`` returns the whole frames received so far (from their ``##``) and the refusals of
    what could not be a packet — bytes before a ``##`` (noise), a frame that grew past
    ``max_frame`` without its CRLF (dropped) — in stream order. ``close`` reports an unfinished
    packet.
    """

    def __init__(self, max_frame: int = STANDARD_MAX_SEGMENT + OVERHEAD) -> None:
        self.max_frame = max_frame
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[tuple[bytes, str | None]]:
        """What ``data`` completes, in stream order: ``(frame, None)`` for a packet from its
        ``##`` to its CRLF, ``(bytes, reason)`` for what cannot be one."""
        self._buf += data
        out: list[tuple[bytes, str | None]] = []
        buf = self._buf
        while buf:
            end = buf.find(END)
            if end < 0:
                if len(buf) > self.max_frame:
                    out.append(
                        (bytes(buf[:200]), f"no CRLF within {self.max_frame} bytes: too long")
                    )
                    buf.clear()
                break
            line = bytes(buf[: end + 2])
            del buf[: end + 2]
            start = line.find(HEADER)
            if start < 0:
                if line != END:
                    out.append((line[:200], "no '##' packet header"))
                continue
            if start > 0:
                out.append((line[:start][:200], f"{start} bytes before the '##' header"))
            if len(line) - start > self.max_frame:
                out.append((line[start : start + 200], f"packet over {self.max_frame} bytes"))
                continue
            out.append((line[start:], None))
        return out

    def close(self) -> tuple[bytes, str] | None:
        """The unfinished packet left when the connection ends, with its refusal."""
        if not self._buf.strip():
            return None
        left = bytes(self._buf[:200])
        reason = f"truncated: connection ended {len(self._buf)} bytes into a packet"
        self._buf.clear()
        return left, reason
