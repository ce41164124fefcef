"""Field names and values as Chinese and English feeds write them: folded keys, aliases, times.

The geohazard and fire feeds match columns by alias lists rather than fixed headers, because
provincial exports name the same field in several ways; this is the matching they share.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timezone
from typing import Any

from riskmap.geo.vocabulary import BEIJING

#: Values exporters write for "no data"; never a real count or reading.
SENTINELS = frozenset(
    {-999.0, -9999.0, -99999.0, -999999.0, 9999.0, 99999.0, 999999.0, -999.9, -9999.9}
)


def norm_key(name: object) -> str:
    """Column / property name folded for matching: trimmed, lower-case, ASCII parentheses."""
    text = str(name).strip().lower().replace("（", "(").replace("）", ")")
    return re.sub(r"\s+", "", text)


def pick(props: dict[str, Any], aliases: tuple[str, ...]) -> tuple[str | None, Any]:
    """First present, non-empty value among ``aliases`` (already folded with :func:`norm_key`)."""
    for alias in aliases:
        if alias in props:
            value = props[alias]
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            if isinstance(value, str) and not value.strip():
                continue
            return alias, value
    return None, None


def parse_time(value: object, *, naive_tz: timezone = BEIJING) -> datetime:
    """An aware UTC datetime from ISO text (or a datetime); naive times are in ``naive_tz``.

    Chinese feeds give local Beijing time without a zone, so that is the default; raises
    ValueError with the text when it is not a time.
    """
    if isinstance(value, datetime):
        dt = value
    else:
        text = str(value).strip()
        if not text:
            raise ValueError("empty time")
        m = re.match(r"^(\d{4})/(\d{1,2})/(\d{1,2})(.*)$", text)
        if m:
            text = f"{m[1]}-{int(m[2]):02d}-{int(m[3]):02d}{m[4]}"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not an ISO 8601 time: {text!r}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=naive_tz)
    try:
        return dt.astimezone(UTC)
    except OverflowError:  # e.g. year 1 at UTC+8: before the first UTC time
        raise ValueError(f"time out of range: {value!r}") from None
