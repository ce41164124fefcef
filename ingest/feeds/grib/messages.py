"""GRIB messages through cfgrib (ecCodes): which are rain we can read, and why the others are not.

Each message is numbered from 1 in file order. Read: regular lat/lon grids (``regular_ll``) of

* total precipitation ``tp`` (an amount: m or kg m-2), accumulated over its step range
  (``stepType`` accum), or — ECMWF GRIB 1 (centre ecmf, paramId 228), whose messages carry a
  plain step — accumulated from the start of the run, as ECMWF defines ``tp``;
* a precipitation rate (``prate``, ``tprate``, ``cpr``/``cprat`` convective) averaged over its
  step range (``stepType`` avg): rate × period is an honest amount.

Refused, each as a problem naming the message and the key: other grid types, other parameters
(e.g. categorical freezing rain ``cfrzr``, a yes/no flag), instantaneous rates (a rate at one
moment says nothing about the amount over a period), accumulations of unknown length.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from riskmap.geo.grids.units import parse_units
from riskmap.ingest.batch import FeedReadError, Problem

AMOUNTS = {"tp"}
RATES = {"prate", "tprate", "cpr", "cprat"}
FLAGS = {"cfrzr", "crain", "csnow", "cicep"}  # NCEP categorical types: 0/1, not amounts
MAX_STEP_H = 24 * 366  # beyond any forecast: a damaged message
STEP_UNIT_HOURS = {0: 1 / 60, 1: 1.0, 2: 24.0, 10: 3.0, 11: 6.0, 12: 12.0, 13: 1 / 3600}


@dataclass
class RainMessage:
    """A readable rain message: what it is, when, on which grid, and its values."""

    number: int
    short_name: str
    name: str
    units: str
    kind: str  # "amount" or "rate"
    run: datetime  # the reference (run or analysis) time, UTC
    analysis: bool
    start_h: float  # the step range, hours after ``run``
    end_h: float
    lat: np.ndarray
    lon: np.ndarray
    values: np.ndarray  # (lat, lon) in the message's units, NaN where missing

    @property
    def label(self) -> str:
        return f"message {self.number} ({self.short_name} {self.start_h:g}-{self.end_h:g} h)"

    def grid_key(self) -> tuple:
        return (tuple(np.round(self.lat, 6)), tuple(np.round(self.lon, 6)))


def scan(path: Path) -> tuple[list[RainMessage], list[Problem]]:
    """Every message of ``path``: the rain ones read, the others as problems."""
    import cfgrib.messages

    rain, problems, number = [], [], 0
    try:
        for _offset, msg in cfgrib.messages.FileStream(str(path), errors="raise").items():
            number += 1
            try:
                rain.append(_message(number, msg))
            except RefusedError as refused:
                problems.append(Problem(f"message {number}", refused.field, refused.reason))
    except Exception as exc:  # ecCodes raises its own types for a damaged file
        raise FeedReadError(
            f"{path.name}: message {number + 1}: cannot be read as GRIB:"
            f" {type(exc).__name__}: {exc}"
        ) from exc
    if number == 0:
        raise FeedReadError(f"{path.name}: no GRIB message")
    return rain, problems


class RefusedError(Exception):
    """A message that is not read, with the key that says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field, self.reason = field, reason


def _message(number: int, msg) -> RainMessage:
    short, name = str(msg.get("shortName")), str(msg.get("name"))
    what = f"{short} ({name}, paramId {msg.get('paramId')})"
    grid_type = msg.get("gridType")
    if grid_type != "regular_ll":
        raise RefusedError("gridType", f"grid type {grid_type} is not read (only regular_ll)")
    if short in FLAGS:
        raise RefusedError("shortName", f"{what} is a yes/no category, not a rainfall amount")
    if short not in AMOUNTS | RATES:
        raise RefusedError(
            "shortName", f"{what} is not total precipitation nor a precipitation rate"
        )
    units = str(msg.get("units"))
    try:
        _amount, per = parse_units(units)
    except ValueError:
        raise RefusedError(
            "units", f"{what}: units {units!r} are not a rainfall amount or rate"
        ) from None
    kind = "rate" if per else "amount"
    start_h, end_h = _step_range(msg, short, kind, what)
    return RainMessage(
        number,
        short,
        name,
        units,
        kind,
        _run_time(msg),
        msg.get("dataType") == "an" or msg.get("typeOfGeneratingProcess") == 0,
        start_h,
        end_h,
        *_grid(msg),
    )


def _step_range(msg, short: str, kind: str, what: str) -> tuple[float, float]:
    unit = msg.get("stepUnits")
    if unit not in STEP_UNIT_HOURS:
        raise RefusedError("stepUnits", f"{what}: step unit code {unit} is not a time unit we read")
    start = float(msg.get("startStep")) * STEP_UNIT_HOURS[unit]
    end = float(msg.get("endStep")) * STEP_UNIT_HOURS[unit]
    step_type = msg.get("stepType")
    if kind == "rate":
        if step_type != "avg":
            raise RefusedError(
                "stepType",
                f"{what} is an {step_type} rate at {end:g} h: a rate at one moment is not an"
                " amount over a period (only rates averaged over a period are read)",
            )
    elif step_type == "instant":
        ecmwf_tp = msg.get("edition") == 1 and msg.get("centre") == "ecmf" and short == "tp"
        if not ecmwf_tp:
            raise RefusedError("stepType", f"{what}: step {end:g} h without an accumulation period")
        start = 0.0  # ECMWF tp: accumulated from the start of the forecast
    elif step_type != "accum":
        raise RefusedError("stepType", f"{what}: step type {step_type} is not an accumulation")
    if end <= start or end > MAX_STEP_H:
        raise RefusedError("stepRange", f"{what}: step range {start:g}-{end:g} h is not a period")
    return start, end


def _run_time(msg) -> datetime:
    date, time = int(msg.get("dataDate")), int(msg.get("dataTime"))
    day = datetime.strptime(str(date), "%Y%m%d").replace(tzinfo=UTC)
    return day + timedelta(hours=time // 100, minutes=time % 100)


def _grid(msg) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Latitudes and longitudes of the cell centres (in scan order) and the (lat, lon) values."""
    ni, nj = int(msg.get("Ni")), int(msg.get("Nj"))
    if msg.get("jPointsAreConsecutive"):
        raise RefusedError("jPointsAreConsecutive", "column-major scanning is not read")
    values = np.asarray(msg["values"], dtype=np.float64).reshape(nj, ni)
    if msg.get("bitmapPresent"):
        values[values == float(msg.get("missingValue"))] = np.nan
    lats = np.asarray(msg["latitudes"], dtype=np.float64).reshape(nj, ni)[:, 0]
    lons = np.asarray(msg["longitudes"], dtype=np.float64).reshape(nj, ni)[0, :]
    lons = lons + 360.0 * np.concatenate([[0], np.cumsum(np.diff(lons) < -180)])  # across 0°
    return lats, lons, values
