"""Length and length-per-time units of sensor readings (m, cm, mm; per second … per day).

Readings are stored in the sensor's own unit, so one sent in another scale of the same dimension
is converted rather than quarantined.
"""

from __future__ import annotations

_LENGTH = {"m": 1.0, "cm": 1e-2, "mm": 1e-3, "米": 1.0, "厘米": 1e-2, "毫米": 1e-3}
_PER = {
    "s": 1.0,
    "min": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
    "天": 86400.0,
    "小时": 3600.0,
    "日": 86400.0,
}


def unit_dimension(unit: str) -> tuple[str, float] | None:
    """(dimension, factor to SI) for length and length-per-time units; None if unknown."""
    u = unit.strip().lower().replace(" ", "")
    if u in _LENGTH:
        return "length", _LENGTH[u]
    if "/" in u:
        num, den = u.split("/", 1)
        if num in _LENGTH and den in _PER:
            return "length/time", _LENGTH[num] / _PER[den]
    return None


def convert(value: float, unit: str, target: str) -> float | None:
    """``value`` in ``unit`` expressed in ``target`` (m ↔ mm, mm/d ↔ mm/h …); None if not
    convertible."""
    if unit.strip().lower() == target.strip().lower():
        return value
    a, b = unit_dimension(unit), unit_dimension(target)
    if a is None or b is None or a[0] != b[0]:
        return None
    return value * a[1] / b[1]
