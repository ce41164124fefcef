"""Small MICAPS type 3 and type 4 files written from the published layout, for the tests.

Written here by hand (not by the code under test) from the MICAPS data-format description:
type 4 header ``year month day hour lead level`` / ``dlon dlat lon0 lon1 lat0 lat1`` /
``nlon nlat interval start end smoothing bold``, then the rows; type 3 header ``year month day
hour level`` / contours / smoothing, bold / boundary / ``values_per_station station_count``,
then ``id lon lat elevation value`` records.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np

# over Mayang (county 109.41–110.09 E, 27.54–28.03 N): 19 × 16 cells of 0.05°
LON0, LAT_SOUTH, STEP, NLON, NLAT = 109.30, 27.40, 0.05, 19, 16


def rain_field(seed: int, missing: int = 0) -> np.ndarray:
    """A north-up (first row north) rain field in 0.1 mm steps, with ``missing`` 9999 cells."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:NLAT, 0:NLON]
    storm = 40 * np.exp(-(((xx - 11) ** 2 + (yy - 6) ** 2) / 30.0))
    values = np.round(storm + rng.gamma(1.2, 2.0, (NLAT, NLON)), 1)
    if missing:
        flat = rng.choice(values.size, missing, replace=False)
        values.flat[flat] = 9999.0
    return values


def _year(when: datetime, digits: int) -> str:
    return f"{when.year % 100:02d}" if digits == 2 else str(when.year)


def write_micaps4(
    path: Path,
    north_up: np.ndarray,
    when: datetime,
    *,
    lead: int = 0,
    description: str = "24小时降水量",
    north_first: bool = True,
    year_digits: int = 4,
    encoding: str = "utf-8",
) -> Path:
    """A type 4 grid of ``north_up`` values; rows north→south (dlat < 0) or south→north."""
    nlat, nlon = north_up.shape
    lat_north = LAT_SOUTH + STEP * (nlat - 1)
    if north_first:
        rows, dlat, lat0, lat1 = north_up, -STEP, lat_north, LAT_SOUTH
    else:
        rows, dlat, lat0, lat1 = north_up[::-1], STEP, LAT_SOUTH, lat_north
    lon1 = LON0 + STEP * (nlon - 1)
    lines = [
        f"diamond 4 {description}",
        f"{_year(when, year_digits)} {when.month:02d} {when.day:02d} {when.hour:02d} {lead} 0",
        f"{STEP:.2f} {dlat:.2f} {LON0:.2f} {lon1:.2f} {lat0:.2f} {lat1:.2f}",
        f"{nlon} {nlat} 10.0 0.0 100.0 1 50.0",
        *(" ".join(f"{v:.1f}" for v in row) for row in rows),
    ]
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def write_micaps3(
    path: Path,
    records: list[tuple[str, float, float, float, str]],
    when: datetime,
    *,
    description: str = "24小时降水量",
    level: int = -2,
    year_digits: int = 4,
    encoding: str = "gbk",
    declared: int | None = None,
) -> Path:
    """A type 3 file of (id, lon, lat, elevation, value text) records, one per line."""
    lines = [
        f"diamond 3 {description}",
        f"{_year(when, year_digits)} {when.month:02d} {when.day:02d} {when.hour:02d} {level}",
        "3 10 25 50",
        "1 50",
        "0",
        f"1 {len(records) if declared is None else declared}",
        *(f"{i} {lon:.4f} {lat:.4f} {alt:.1f} {v}" for i, lon, lat, alt, v in records),
    ]
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path
