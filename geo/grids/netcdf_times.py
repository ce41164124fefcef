"""Which accumulation period each step of a CF NetCDF grid covers: CF times, leads, bounds.

The rules that decide analysis (qpe) or forecast (qpf) and each period's start and end are the
subtle part of reading NetCDF, so they have a module of their own.

What decides analysis (qpe) or forecast (qpf)
-----------------------------------------------

* ``forecast_reference_time`` (coordinate, variable, or standard_name) → qpf issued then; leads
  from a ``step``/``lead_time``/``forecast_period`` dimension, or ``time - reference``;
* a lead dimension without a reference time → qpf with ``time`` as the run time (cfgrib layout);
* otherwise qpe. Periods come from time bounds (``time:bounds``); without bounds several
  equally spaced times are period ends (CF: an accumulation is stamped at its end) and a single
  time needs the file-name pattern or the global attributes (see ``tags``).
* Leads without bounds are successive intervals: ``(issued + previous lead, issued + lead]``,
  the first one as long as the lead spacing (or from the run time when there is one lead).

Times: CF ``<unit> since <date>`` in the standard, gregorian, proleptic_gregorian calendars;
``julian`` is read as gregorian because NASA GPM files label their UTC times so (the IMERG sample
says 2020-01-01T12:00Z in its header and its julian-labelled time agrees only when read so).
Model calendars (360_day, noleap, …) are rejected: they are not real time.
"""

from __future__ import annotations

import itertools
import re
from datetime import datetime, timedelta

import numpy as np

from riskmap.geo.grids.model import GridReadError, Period
from riskmap.geo.grids.tags import period_from_tags, to_utc

LEAD_DIMS = {"step", "lead", "lead_time", "leadtime", "forecast_period", "forecast_hour"}
REFERENCE_NAMES = {"forecast_reference_time", "reference_time", "analysis_time"}

_TIME_UNITS = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
}  # fmt: skip
_REAL_CALENDARS = {"", "standard", "gregorian", "proleptic_gregorian", "julian"}


def decode_times(values: np.ndarray, units: str, calendar: str, name: str) -> list[datetime]:
    """CF ``<unit> since <date>`` numbers → UTC datetimes (see the module doc on calendars)."""
    cal = (calendar or "").strip().lower()
    if cal not in _REAL_CALENDARS:
        raise GridReadError(f"{name}: calendar {calendar!r} is a model calendar, not real time")
    m = re.fullmatch(r"\s*(\w+)\s+since\s+(.+?)\s*", units or "")
    if not m or m.group(1).lower() not in _TIME_UNITS:
        raise GridReadError(f"{name}: time units {units!r} are not '<unit> since <date>'")
    ref_text = re.sub(r"\s*(UTC|GMT|Z)$", "", m.group(2).strip(), flags=re.IGNORECASE)
    ref = to_utc(ref_text, "time reference", name)
    step = _TIME_UNITS[m.group(1).lower()]
    try:
        return [ref + timedelta(seconds=float(v) * step) for v in np.asarray(values).ravel()]
    except (OverflowError, ValueError) as exc:  # NaN, inf, or beyond year 1…9999
        raise GridReadError(f"{name}: a time in {units!r} is not a real time: {exc}") from exc


def _lead_hours(coord, name: str) -> np.ndarray:
    values = np.asarray(coord.values)
    if np.issubdtype(values.dtype, np.timedelta64):
        return values.astype("timedelta64[s]").astype(np.float64) / 3600
    unit = str(coord.attrs.get("units", "hours")).strip().lower()
    if unit not in _TIME_UNITS:
        raise GridReadError(f"{name}: lead units {unit!r} are not a time span")
    return values.astype(np.float64) * _TIME_UNITS[unit] / 3600


def _time_bounds(ds, coord_name: str) -> np.ndarray | None:
    coord = ds[coord_name]
    bname = coord.attrs.get("bounds") or coord.attrs.get("climatology")
    if bname and bname in ds.variables:
        return np.asarray(ds[bname].values, dtype=np.float64)
    return None


def _reference_time(ds, name: str) -> datetime | None:
    for vname in ds.variables:
        coord = ds[vname]
        std = str(coord.attrs.get("standard_name", "")).lower()
        if std == "forecast_reference_time" or vname.lower() in REFERENCE_NAMES:
            values = np.asarray(coord.values).ravel()
            if values.size != 1:
                raise GridReadError(f"{name}: several forecast reference times in one file")
            units = str(coord.attrs.get("units", ""))
            return decode_times(values, units, str(coord.attrs.get("calendar", "")), name)[0]
    return None


def netcdf_periods(
    ds, var, time_dim: str | None, lead_dim: str | None, attrs: dict[str, str], name: str
) -> list[Period]:
    """The accumulation period of each time step / lead (see the module doc for the rules)."""
    times: list[datetime] | None = None
    bounds: list[tuple[datetime, datetime]] | None = None
    if time_dim is not None:
        coord = ds[time_dim]
        units, cal = str(coord.attrs.get("units", "")), str(coord.attrs.get("calendar", ""))
        times = decode_times(coord.values, units, cal, name)
        raw = _time_bounds(ds, time_dim)
        if raw is not None:
            if raw.shape != (len(times), 2):
                raise GridReadError(
                    f"{name}: time bounds have shape {raw.shape}, not ({len(times)}, 2)"
                )
            flat = decode_times(raw, units, cal, name)
            bounds = list(zip(flat[0::2], flat[1::2], strict=True))
    reference = _reference_time(ds, name)
    if lead_dim is not None:
        leads = _lead_hours(ds[lead_dim], name)
        if reference is None and times is not None and len(times) == 1:
            reference, times = times[0], None  # cfgrib layout: time = run, step = lead
        if reference is None:
            raise GridReadError(f"{name}: lead dimension {lead_dim!r} without a reference time")
        if times is not None:
            raise GridReadError(f"{name}: both time and lead dimensions vary; not supported")
        return _lead_periods(reference, leads, name)
    if reference is not None:
        if times is None:
            raise GridReadError(f"{name}: forecast reference time without valid times")
        leads = np.array([(t - reference).total_seconds() / 3600 for t in times])
        if bounds is not None:
            return [
                Period(i, f"time step {i + 1}", "qpf", s, e, reference,
                       (e - reference).total_seconds() / 3600)
                for i, (s, e) in enumerate(bounds)
            ]  # fmt: skip
        return _lead_periods(reference, leads, name)
    if times is None:
        period = period_from_tags(attrs, name, 0, "grid")
        if period is None:
            raise GridReadError(
                f"{name}: cannot tell the period: no time coordinate, no RISKMAP_* attributes"
                " and the file name is not …qpe_YYYYmmddHHMM_YYYYmmddHHMM…"
            )
        return [period]
    if bounds is None:
        bounds = _bounds_from_spacing(times, attrs, name)
    return [Period(i, f"time step {i + 1}", "qpe", s, e, e) for i, (s, e) in enumerate(bounds)]


def _bounds_from_spacing(
    times: list[datetime], attrs: dict[str, str], name: str
) -> list[tuple[datetime, datetime]]:
    if len(times) == 1:
        tagged = period_from_tags(attrs, name, 0, "time step 1")
        if tagged is None:
            raise GridReadError(
                f"{name}: one time without bounds: cannot tell the accumulation period; add"
                " time bounds or name the file …qpe_YYYYmmddHHMM_YYYYmmddHHMM…"
            )
        return [(tagged.valid_start, tagged.valid_end)]
    steps = {(b - a) for a, b in itertools.pairwise(times)}
    if len(steps) != 1:
        raise GridReadError(f"{name}: unequal time steps without bounds; add time bounds")
    step = steps.pop()
    return [(t - step, t) for t in times]


def _lead_periods(reference: datetime, leads: np.ndarray, name: str) -> list[Period]:
    leads = np.asarray(leads, dtype=np.float64)
    if np.any(np.diff(leads) <= 0):
        raise GridReadError(f"{name}: lead times are not increasing")
    first = leads[1] - leads[0] if leads.size > 1 else leads[0]
    out = []
    for i, lead in enumerate(leads):
        start = lead - first if i == 0 else leads[i - 1]
        if lead <= 0 or start < 0:
            continue  # lead 0: no accumulation yet
        out.append(
            Period(
                i,
                f"lead {lead:g} h",
                "qpf",
                reference + timedelta(hours=float(start)),
                reference + timedelta(hours=float(lead)),
                reference,
                float(lead),
            )
        )
    if not out:
        raise GridReadError(f"{name}: no lead time after the run time")
    return out
