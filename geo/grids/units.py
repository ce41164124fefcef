"""Units of a rainfall grid → mm: one rule for the feed's catalogue, village rain and tiles.

Units: mm, kg m-2 (= mm of water), m (× 1000), cm (× 10); rates (mm/h, mm hr-1, mm/day,
kg m-2 s-1, mm s-1, m s-1) are multiplied by the period. Anything else is rejected. Declared
nodata/_FillValue cells are NaN; negative, non-finite and ≥ 2000 mm values (sentinels such as
99999 or -999999) are NaN too (:func:`to_mm`).
"""

from __future__ import annotations

import re

import numpy as np

from riskmap.geo.vocabulary import RAIN_MAX_MM

_AMOUNT = {"mm": 1.0, "kgm-2": 1.0, "m": 1000.0, "cm": 10.0}
_PER = {"s": 1.0, "h": 3600.0, "d": 86400.0}


def parse_units(units: str | None) -> tuple[float, float | None]:
    """(factor to mm, seconds of the rate's time unit or None for an amount).

    Accepts mm, kg m-2, m, cm, and their rates per second, hour or day in the spellings CF and
    data centres use (``mm/hr``, ``mm hr-1``, ``mm h**-1``, ``kg m-2 s-1``, ``mm/day``, …).
    Raises ValueError for anything else, so a grid in unknown units is never taken as mm.
    """
    if units is None or not str(units).strip():
        raise ValueError("missing units")
    u = str(units).strip().lower().replace("**", "").replace("^", "")
    u = re.sub(r"millimet(er|re)s?", "mm", u)
    u = re.sub(r"\b(hours?|hrs?)\b", "h", u)
    u = re.sub(r"\b(days?)\b", "d", u)
    u = re.sub(r"\b(seconds?|sec)\b", "s", u)
    u = u.replace("kg/m2", "kg m-2").replace("kg.m-2", "kg m-2").replace("kg m2", "kg m-2")
    u = re.sub(r"\s+", " ", u)
    m = re.fullmatch(r"(mm|kg ?m-2|m|cm)(?:(?: ?/ ?| )(s|h|d)(?:-1)?)?", u)
    if not m:
        raise ValueError(f"unknown units {units!r}")
    amount = _AMOUNT[m.group(1).replace(" ", "")]
    per = m.group(2)
    if per is not None and "/" not in u and not u.endswith("-1"):
        raise ValueError(f"unknown units {units!r}")
    return amount, (_PER[per] if per else None)


def to_mm_factor(units: str | None, seconds: float) -> float:
    """Multiplier turning a value in ``units`` into mm over a period of ``seconds``."""
    amount, per = parse_units(units)
    return amount * (seconds / per if per else 1.0)


def to_mm(raw: np.ndarray, factor: float) -> tuple[np.ndarray, int]:
    """Raw values → mm; negative, non-finite and ≥ RAIN_MAX_MM cells → NaN. Returns (mm, how many
    such sentinel cells there were besides the declared nodata)."""
    with np.errstate(invalid="ignore", over="ignore"):
        mm = raw * factor
        bad = ~np.isnan(raw) & (~np.isfinite(mm) | (raw < 0) | (mm >= RAIN_MAX_MM))
    mm[bad] = np.nan
    return mm, int(bad.sum())
