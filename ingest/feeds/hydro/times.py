"""Reading hydrology times into UTC: SL 323 Beijing time, zoned WaterML / NWIS times.

One home for the UTC-offset pattern, so the SL 323 reader, the zoned-time check and the
placing of a document's daily values agree on what counts as an offset.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

import numpy as np
import pandas as pd

from riskmap.geo.vocabulary import BEIJING_OFFSET

_OFFSET = re.compile(r"(?:[zZ]|[+-]\d{2}:?\d{2})$")  # a UTC offset ending a time
_ZONED = "T.*" + _OFFSET.pattern  # a date and time with its offset (a date alone has none)
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_COMPACT_FORMATS = {14: "%Y%m%d%H%M%S", 12: "%Y%m%d%H%M", 10: "%Y%m%d%H"}


def sl323_times(values: pd.Series) -> pd.Series:
    """Parse SL 323 TM strings to UTC; naive times are Beijing time (UTC+8), offsets honoured.

    Vectorised: the common ``YYYY-MM-DD HH:MM:SS`` layout takes the fast path; ISO 8601 with
    ``T`` or ``/`` separators, explicit offsets and compact ``YYYYMMDDHHMM`` follow. Returns a
    ``datetime64[ns, UTC]`` series with NaT where a value cannot be read.
    """
    fast = pd.to_datetime(values, format="%Y-%m-%d %H:%M:%S", errors="coerce")
    out = (fast - BEIJING_OFFSET).dt.tz_localize("UTC").copy()
    todo = out.isna() & values.notna()
    if not todo.any():
        return out
    rest = values[todo].astype(str).str.strip().str.replace("/", "-", regex=False)
    aware = rest.str.contains(_OFFSET, regex=True, na=False)
    if aware.any():
        out.loc[rest.index[aware]] = pd.to_datetime(
            rest[aware], format="ISO8601", utc=True, errors="coerce"
        )
    naive = rest[~aware]
    if len(naive):
        parsed = pd.to_datetime(naive, format="ISO8601", errors="coerce").copy()
        lengths = naive.str.len()
        compact = naive.str.fullmatch(r"\d{10,14}", na=False)
        for width, fmt in _COMPACT_FORMATS.items():
            pick = compact & (lengths == width)
            if pick.any():
                parsed[pick] = pd.to_datetime(naive[pick], format=fmt, errors="coerce")
        out.loc[naive.index] = (parsed - BEIJING_OFFSET).dt.tz_localize("UTC")
    return out


def zoned_times(values: Iterable[str]) -> tuple[pd.Series, np.ndarray]:
    """Parse WaterML / NWIS times, which must carry a UTC offset.

    Returns (UTC times with NaT where unreadable or without an offset, mask of those without).
    """
    s = pd.Series(list(values), dtype="string").str.strip()
    has_offset = s.str.contains(_ZONED, regex=True, na=False)
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns, UTC]")
    if has_offset.any():
        out[has_offset] = pd.to_datetime(s[has_offset], format="ISO8601", utc=True, errors="coerce")
    return out, (~has_offset & s.notna() & (s != "")).to_numpy()


def with_document_offset(time: str, offset: str | None) -> str:
    """Place a time without offset in the zone its document declares (daily values are dates).

    WaterML 2.0 daily values are written as dates (``2014-09-01``) and NWIS JSON daily values
    as local times; the document states its zone elsewhere (the resultTime's offset, the
    site's ``defaultTimeZone``). With no declared zone the time stays as it is and is
    quarantined later, since it cannot be placed in UTC.
    """
    if not time or offset is None or _OFFSET.search(time):
        return time
    if _DATE_ONLY.match(time):
        return f"{time}T00:00:00{offset}"
    return f"{time}{offset}"


def offset_of(stamp: str | None) -> str | None:
    """The UTC offset ending ``stamp`` (``Z`` as ``+00:00``); None when it has none."""
    match = _OFFSET.search(stamp or "")
    if not match:
        return None
    found = match.group(0)
    return "+00:00" if found in ("z", "Z") else found


def py_datetime(ts: pd.Timestamp | None) -> datetime | None:
    """A batch's valid_from / valid_to: the timestamp as a Python datetime (None for NaT)."""
    return None if ts is None or pd.isna(ts) else ts.to_pydatetime()
