"""MICAPS type 4 (``diamond 4``) rainfall grids → a CF grid for the rain-grid feed.

Layout (MICAPS 3/4 data format, type 4 "grid data"), whitespace-separated after line 1::

    diamond 4 <description>
    year month day hour lead level
    dlon dlat lon_start lon_end lat_start lat_end
    nlon nlat contour_interval contour_start contour_end smoothing bold_value
    <nlat rows of nlon values, the first row at lat_start, stepping by dlat>

``dlat`` may be negative (rows from north to south) or positive (south to north); both are
read. 9999 and -9999 are missing values. Values are mm.

What a period is (the header time is Beijing time, stored in UTC; see :mod:`.header`):

* lead 0 → an analysis (qpe) ending at the header time, as long as the accumulation the
  description states;
* lead > 0 → a forecast (qpf) issued at the header time (the run), valid until
  ``init + lead``, starting ``accumulation`` hours before that. An accumulation longer than
  the lead (rain before the run) is refused.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np

from riskmap.ingest.batch import FeedReadError, Problem
from riskmap.ingest.feeds.grids.cf_write import CfGrid, CfPeriod
from riskmap.ingest.feeds.micaps.header import (
    MAX_LEAD_H,
    MicapsText,
    header_time,
    rain_hours,
    read_text,
)

MISSING = (9999.0, -9999.0)
_GRID_FIELDS = ("dlon", "dlat", "lon_start", "lon_end", "lat_start", "lat_end")


def read_micaps4(path: Path) -> tuple[list[CfGrid], list[Problem]]:
    """The one grid of a MICAPS type 4 rainfall file, and the cells that were not numbers."""
    text = read_text(path)
    if text.type != 4:
        raise FeedReadError(f"{path.name}: line 1: MICAPS type {text.type}, not 4 (grid)")
    init, line = header_time(text)
    lead = text.integer("lead")
    text.number("level")
    if not 0 <= lead <= MAX_LEAD_H:
        raise FeedReadError(f"{path.name}: line {line}, field lead: lead {lead} h out of range")
    hours = rain_hours(text)
    g = {f: text.number(f) for f in _GRID_FIELDS}
    nlon, nlat = text.integer("nlon"), text.integer("nlat")
    if not (2 <= nlon and 2 <= nlat and nlon * nlat <= len(text.tokens)):
        raise FeedReadError(
            f"{path.name}: field nlon/nlat: {nlon} × {nlat} cells; a grid needs at least 2 × 2"
            f" and the file holds {len(text.tokens)} words"
        )
    lon, lat = _axes(text, g, nlon, nlat)
    for f in ("contour_interval", "contour_start", "contour_end", "smoothing", "bold_value"):
        text.number(f)
    values, problems = _values(text, nlat, nlon)
    if lead == 0:
        end, issued, label = init, None, f"grid ({hours} h analysis)"
    else:
        if hours > lead:
            raise FeedReadError(
                f"{path.name}: line 1, field description: a {hours} h accumulation at lead"
                f" {lead} h would start before the run"
            )
        end, issued, label = init + timedelta(hours=lead), init, f"lead {lead} h"
    period = CfPeriod(label, end - timedelta(hours=hours), end, values)
    return [CfGrid("rain", text.description, lat, lon, issued, [period])], problems


def _axes(text: MicapsText, g: dict[str, float], nlon: int, nlat: int):
    """Cell-centre longitudes and latitudes, checked against the header's end values."""
    name = text.name
    if not all(np.isfinite(list(g.values()))):
        raise FeedReadError(f"{name}: field dlon/dlat/lon/lat: a grid value is not finite")
    if g["dlon"] == 0 or g["dlat"] == 0:
        raise FeedReadError(f"{name}: field dlon/dlat: a grid spacing of 0")
    lon = g["lon_start"] + g["dlon"] * np.arange(nlon)
    lat = g["lat_start"] + g["dlat"] * np.arange(nlat)
    for axis, end, field, step in ((lon, g["lon_end"], "lon_end", g["dlon"]),
                                   (lat, g["lat_end"], "lat_end", g["dlat"])):  # fmt: skip
        if abs(axis[-1] - end) > abs(step) / 2:
            raise FeedReadError(
                f"{name}: field {field}: {end:g} does not match start + (n - 1) × spacing ="
                f" {axis[-1]:g}; spacing, count or end is wrong"
            )
    if np.abs(lat).max() > 90:
        raise FeedReadError(f"{name}: field lat_start/lat_end: latitudes beyond ±90°")
    return lon, lat


def _values(text: MicapsText, nlat: int, nlon: int) -> tuple[np.ndarray, list[Problem]]:
    """The nlat × nlon values in file order; a non-number cell is NaN and a problem."""
    rest = text.tokens[text.pos :]
    want = nlat * nlon
    if len(rest) != want:
        where = rest[-1].line if rest else text.tokens[-1].line
        raise FeedReadError(
            f"{text.name}: line {where}: {len(rest)} grid values where nlon × nlat ="
            f" {nlon} × {nlat} = {want} are declared"
        )
    out = np.empty(want, dtype=np.float64)
    problems = []
    for i, token in enumerate(rest):
        try:
            out[i] = float(token.text)
        except ValueError:
            out[i] = np.nan
            row, col = divmod(i, nlon)
            problems.append(
                Problem(
                    f"line {token.line}",
                    f"value (row {row + 1}, column {col + 1})",
                    f"{token.text!r} is not a number; the cell is left without data",
                )
            )
    out[np.isin(out, MISSING)] = np.nan
    return out.reshape(nlat, nlon), problems
