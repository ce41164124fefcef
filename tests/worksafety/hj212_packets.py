"""HJ 212-2017 packets for the tests: published ones with their CRCs, and a bitwise CRC written
from the standard's Appendix A text, independent of the table-driven one in production."""

from __future__ import annotations

# HJ 212-2017 Appendix A's own example (CN=1062, set the real-time interval), as quoted in
# https://www.cnblogs.com/axin85/p/12002363.html (from https://www.cnblogs.com/LiuSiyuan/p/8110192.html):
# "其中 1C80 为 CRC16 校验码，是对数据段 QN=…&& 进行 CRC16 校验所得的校验码".
ANNEX_A = (
    b"##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;"
    b"CP=&&RtdInterval=30&&1C80\r\n"
)
# A real-time air upload with its CRC, from the same author's open-source Java parser
# (class NationalStandard212, main(): "##0249QN=20180507000558;…&&D801"); no Flag (2005 style).
AIR_D801 = (
    b"##0249QN=20180507000558;ST=39;CN=2011;PW=123456;MN=010000A00000000000A00654;CP=&&"
    b"DataTime=20180507000558;a01001-Rtd=26.0,a01001-Flag=N;a01002-Rtd=30.4,a01002-Flag=N;"
    b"a34001-Rtd=0.0,a34001-Flag=N;a34002-Rtd=24.0,a34002-Flag=N;a34004-Rtd=23.0,a34004-Flag=N"
    b"&&D801\r\n"
)
# A JUnit parameter of an open-source HJ 212 parser's CRC test ("…B01-Flag=N&&a9c1", true):
# lower-case CRC, no QN and no Flag.
WATER_A9C1 = (
    b"##0178ST=32;CN=2011;PW=123456;MN=0873HHMZWSLH02;CP=&&DataTime=20160103133030;"
    b"060-Rtd=3.0943,060-Flag=N;011-Rtd=18.0412,011-Flag=N;001-Rtd=8.2137,001-Flag=N;"
    b"B01-Rtd=10.9890,B01-Flag=N&&a9c1\r\n"
)
# Published in the same Java file (commented out) with CRC 4f40, which is right, but its length
# says 0481 while the segment has 482 bytes (the trailing ';' before '&&'): a real wrong length.
AIR_4F40_WRONG_LENGTH = (
    b"##0481QN=20160801085000001;ST=22;CN=2011;PW=123456;MN=010000A8900016F000169DC0;Flag=7;"
    b"CP=&&DataTime=20160801084000;a21005-Rtd=1.1,a21005-Flag=N;a21004-Rtd=112,a21004-Flag=N;"
    b"a21026-Rtd=58,a21026-Flag=N;a21030-Rtd=64,a21030-Flag=N;LA-Rtd=50.1,LA-Flag=N;"
    b"a34004-Rtd=207,a34004-Flag=N;a34002-Rtd=295,a34002-Flag=N;a01001-Rtd=12.6,a01001-Flag=N;"
    b"a01002-Rtd=32,a01002-Flag=N;a01006-Rtd=101.02,a01006-Flag=N;a01007-Rtd=2.1,a01007-Flag=N;"
    b"a01008-Rtd=120,a01008-Flag=N;a34001-Rtd=217,a34001-Flag=N;&&4f40\r\n"
)

# A data answer (数据应答) with its CRC, from an open-source Java HJ 212 mapper's test
# ("// ##0087QN=20160801085000001;ST=91;CN=9014;…;Flag=4;CP=&&&&C241"); other open-source
# receivers quote the same line as the standard's form (标准格式): CN=9014 carries an empty CP.
ANSWER_C241 = (
    b"##0087QN=20160801085000001;ST=91;CN=9014;PW=123456;MN=010000A8900016F000169DC0;Flag=4;"
    b"CP=&&&&C241\r\n"
)


def bitwise_crc(data: bytes) -> int:
    """Appendix A step by step: register 0xFFFF; register = (register >> 8) XOR byte; eight
    times: shift right, and XOR 0xA001 when the bit shifted out was 1."""
    register = 0xFFFF
    for byte in data:
        register = (register >> 8) ^ byte
        for _ in range(8):
            out = register & 1
            register >>= 1
            if out:
                register ^= 0xA001
    return register


def wrap(segment: str, *, length: int | None = None, crc: int | None = None) -> bytes:
    """A packet around a hand-written segment, its CRC from :func:`bitwise_crc` unless given."""
    data = segment.encode("ascii")
    n = len(data) if length is None else length
    c = bitwise_crc(data) if crc is None else crc
    return b"##" + f"{n:04d}".encode() + data + f"{c:04X}".encode() + b"\r\n"
