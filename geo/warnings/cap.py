"""CAP 1.2 fields of our own warnings in the Chinese profile (GB/T 35965.1-2018).

The identifier is ``ZZZZZZDDDUUUXX_YYYYMMDDhhmmss_N`` (31 characters): the county's GB/T 2260
code, a 3-digit department, a 3-digit unit, 2 spare digits, the send time in Beijing time and a
one-digit serial that tells apart messages sent in the same second. The spare digits are 00 in
real messages and :data:`DRILL_SPARE` in a drill's (演练, CAP status Exercise): a drill replaying
a real day sends at the same seconds, and its identifiers must never equal real ones.
"""

from __future__ import annotations

import re
from datetime import datetime

from riskmap.geo.errors import InvalidArgumentError
from riskmap.geo.vocabulary import BEIJING

# The department and unit codes of the county emergency-management bureau are not public; these
# are placeholders a site can change (they only need to be stable and digits).
DEPARTMENT = "013"
UNIT = "001"
SPARE = "00"
# A drill's messages (geo/drills/twin.py marks them in the drill's schema); a local choice ⚠.
DRILL_SPARE = "99"
SERIALS = range(1, 10)  # one digit: at most nine messages per sender and second
IDENTIFIER = re.compile(r"^\d{6}\d{3}\d{3}\d{2}_\d{14}_\d$")
SEVERITY_OF_COLOUR = {"blue": "Minor", "yellow": "Moderate", "orange": "Severe", "red": "Extreme"}


def sender_prefix(county_code: str) -> str:
    """The 14 leading digits of every identifier the county sends (area, department, unit)."""
    if not re.fullmatch(r"[1-9]\d{5}", county_code):
        raise InvalidArgumentError(f"county code must be 6 digits (GB/T 2260), got {county_code!r}")
    return f"{county_code}{DEPARTMENT}{UNIT}{SPARE}"


def sender_address(county_code: str) -> str:
    """CAP ``sender``: unique per originator, no spaces or commas (they separate references)."""
    return f"{sender_prefix(county_code)}@riskmap.yjj.gov.cn"


def identifier(prefix: str, sent: datetime, serial: int) -> str:
    """Format one GB/T 35965.1 identifier; ``sent`` must be timezone-aware."""
    if sent.tzinfo is None:
        raise InvalidArgumentError("sent must be timezone-aware (UTC or Beijing time)")
    if serial not in SERIALS:
        raise InvalidArgumentError(f"serial must be one of {list(SERIALS)}, got {serial}")
    stamp = sent.astimezone(BEIJING).strftime("%Y%m%d%H%M%S")
    return f"{prefix}_{stamp}_{serial}"


def cap_time(t: datetime) -> str:
    """A CAP dateTime in Beijing time with offset, to the second: ``2026-07-14T10:00:00+08:00``."""
    return t.astimezone(BEIJING).replace(microsecond=0).isoformat()


def references(earlier: list[tuple[str, str, datetime]]) -> str | None:
    """CAP ``references``: ``sender,identifier,sent`` of every earlier version, space separated."""
    if not earlier:
        return None
    return " ".join(f"{s},{i},{cap_time(t)}" for s, i, t in earlier)


def response_type(action: str | None, extra: dict[str, str]) -> str:
    """CAP responseType: what the rule asks people to do (evacuation rules say it themselves)."""
    if "response_type" in extra:
        return extra["response_type"]
    return {"evacuate_now": "Evacuate", "prepare_evacuation": "Prepare"}.get(
        action or "", "Monitor"
    )
