"""The period of a grid told by RISKMAP_* tags (or attributes) or by its file name.

GeoTIFFs carry no time axis, and some NetCDF files none either, so both readers ask here.
GeoTIFF tags (dataset tags, overridden per band by band tags), the same names are read from
NetCDF global attributes when a file has no time coordinate:

=====================  =====================================================================
``RISKMAP_PRODUCT``    ``qpe`` or ``qpf``
``RISKMAP_VALID_START`` ISO 8601 start of the accumulation period (no offset = UTC)
``RISKMAP_VALID_END``  ISO 8601 end of the period
``RISKMAP_ISSUED``     forecasts: run time (required for qpf)
``RISKMAP_UNITS``      units if the band carries none (band ``units``/description win)
=====================  =====================================================================

File-name pattern (UTC, case-insensitive), used where tags/attributes are missing:
``…qpe_<YYYYmmddHHMM>_<YYYYmmddHHMM>…`` (start, end) or
``…qpf_<YYYYmmddHHMM>_<YYYYmmddHHMM>_i<YYYYmmddHHMM>…`` (start, end, issued), e.g.
``mayang_qpe_202607011200_202607011300.tif``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pandas as pd

from riskmap.geo.grids.model import GridReadError, Period

FILENAME_PATTERN = re.compile(
    r"(?P<product>qpe|qpf)_(?P<start>\d{12})_(?P<end>\d{12})(?:_i(?P<issued>\d{12}))?",
    re.IGNORECASE,
)


def to_utc(value: str | datetime, what: str, name: str) -> datetime:
    """``value`` as an aware UTC time (no offset = UTC); the error names ``what`` and the file."""
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise GridReadError(f"{name}: {what} {value!r} is not a time ({exc})") from exc
    if pd.isna(ts):
        raise GridReadError(f"{name}: {what} is empty")
    ts = ts.tz_localize(UTC) if ts.tzinfo is None else ts.tz_convert(UTC)
    return ts.to_pydatetime()


def period_from_tags(tags: dict[str, str], name: str, index: int, label: str) -> Period | None:
    """A period from RISKMAP_* tags/attributes, else from the file-name pattern, else None."""
    tags = {k.upper(): v for k, v in tags.items()}
    product = tags.get("RISKMAP_PRODUCT")
    start, end, issued = (tags.get(f"RISKMAP_{k}") for k in ("VALID_START", "VALID_END", "ISSUED"))
    if not (product and start and end):
        m = FILENAME_PATTERN.search(name)
        if m is None:
            return None
        product = product or m["product"]
        start = start or datetime.strptime(m["start"], "%Y%m%d%H%M").replace(tzinfo=UTC)
        end = end or datetime.strptime(m["end"], "%Y%m%d%H%M").replace(tzinfo=UTC)
        if m["issued"] and not issued:
            issued = datetime.strptime(m["issued"], "%Y%m%d%H%M").replace(tzinfo=UTC)
    product = str(product).strip().lower()
    if product not in ("qpe", "qpf"):
        raise GridReadError(f"{name}: RISKMAP_PRODUCT must be qpe or qpf, not {product!r}")
    vs, ve = to_utc(start, "RISKMAP_VALID_START", name), to_utc(end, "RISKMAP_VALID_END", name)
    if product == "qpe":
        return Period(index, label, "qpe", vs, ve, ve)
    if not issued:
        raise GridReadError(f"{name}: a qpf needs RISKMAP_ISSUED (the forecast run time)")
    iss = to_utc(issued, "RISKMAP_ISSUED", name)
    return Period(index, label, "qpf", vs, ve, iss, (ve - iss).total_seconds() / 3600)
