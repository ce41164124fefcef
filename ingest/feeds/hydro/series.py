"""Time series of WaterML 2.0 and NWIS JSON: points and sites into station and obs loads.

Both formats come down to (station, variable, time, value, unit) points and the monitoring
points that register stations; they share the checks, the unit conversion and the merging of
discharge and stage of one gauge into one row.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from riskmap.geo.vocabulary import HOURLY_RAIN_MAX_MM
from riskmap.ingest.batch import RECORD, Batch, Context, Problem, TableLoad
from riskmap.ingest.feeds.hydro.checks import (
    SENTINELS,
    Flags,
    StationBook,
    filled,
    numbers,
    outside_time_range,
)
from riskmap.ingest.feeds.hydro.loads import STATION_DATASET, rain_after_load, station_loads
from riskmap.ingest.feeds.hydro.tables import UNITS, unit_factor
from riskmap.ingest.feeds.hydro.times import py_datetime, zoned_times

VARIABLES = {  # what a series measures -> (table, column, quantity, station type)
    "q": ("river_obs", "q", "flow", "ZQ"),
    "z": ("river_obs", "z", "level", "ZZ"),
    "drp": ("rain_obs", "drp", "rain", "PP"),
}
NWIS_PARAMETERS = {"00060": "q", "00061": "q", "00065": "z", "00045": "drp"}
_STATION_RANK = {"ZQ": 0, "ZZ": 1, "PP": 2}


def variable_of(*names: str | None) -> str | None:
    """Our variable for a property title / URI (discharge, stage, precipitation)."""
    for name in names:
        if not name:
            continue
        low = name.lower()
        code = re.search(r"parmcd=(\d{5})", low)
        if code and code.group(1) in NWIS_PARAMETERS:
            return NWIS_PARAMETERS[code.group(1)]
        if any(w in low for w in ("discharge", "streamflow", "flow rate", "river flow")):
            return "q"
        if any(w in low for w in ("gage height", "gauge height", "stage", "water level")):
            return "z"
        if any(w in low for w in ("precipitation", "rainfall")):
            return "drp"
    return None


@dataclass
class Point:
    """One value of a series, before checks."""

    stcd: str
    variable: str
    time: str
    value: str | float | None
    unit: str | None
    record: str
    nodata: float | None = None


@dataclass
class Site:
    """A monitoring point that registers or updates a station."""

    stcd: str
    name: str | None
    lon: float | None
    lat: float | None
    variables: set[str] = field(default_factory=set)


def points_batch(
    kind: str, path: Path, ctx: Context, sites: list[Site], points: list[Point]
) -> Batch:
    """Turn the points and sites of a WaterML / NWIS document into station and obs loads."""
    problems: list[Problem] = []
    book = StationBook(ctx.conn)
    station_rows = []
    book.lookup([s.stcd for s in sites])
    for site in _merge_sites(sites):
        known = book.known.get(site.stcd)
        if site.lon is None or site.lat is None or not site.name:
            continue  # cannot register: obs load only if the station already exists
        sttp = (
            known[0]
            if known
            else min((VARIABLES[v][3] for v in site.variables), key=_STATION_RANK.get, default="ZQ")
        )
        station_rows.append(
            {
                RECORD: f"monitoring point {site.stcd}",
                "stcd": site.stcd,
                "stnm": site.name,
                "sttp": sttp,
                "dataset_id": known[1] if known else STATION_DATASET,
                "geom": shapely.Point(site.lon, site.lat),
            }
        )
        book.registered.add(site.stcd)
    stations = pd.DataFrame(station_rows)
    frame = pd.DataFrame([p.__dict__ for p in points])
    loads: list[TableLoad] = []
    times = pd.Series(dtype="datetime64[ns, UTC]")
    if len(frame):
        good, bad = _check_points(frame, book, ctx.now)
        problems.extend(bad)
        times = good["tm"]
        for table in ("river_obs", "rain_obs"):
            part = good[good["table"] == table]
            if len(part):
                loads.append(TableLoad(table, _merge_points(part), key=("stcd", "tm")))
    rain = any(load.table == "rain_obs" for load in loads)
    start = py_datetime(times.min()) if len(times) else None
    end = py_datetime(times.max()) if len(times) else None
    return Batch(
        kind,
        station_loads(ctx, stations) + loads,
        problems,
        valid_from=start,
        valid_to=end,
        after_load=rain_after_load(start, end) if rain else None,
        event={"stations": len(stations)},
    )


def _merge_sites(sites: list[Site]) -> list[Site]:
    out: dict[str, Site] = {}
    for s in sites:
        have = out.setdefault(s.stcd, Site(s.stcd, s.name, s.lon, s.lat))
        have.name = have.name or s.name
        if have.lon is None:
            have.lon, have.lat = s.lon, s.lat
        have.variables |= s.variables
    return list(out.values())


def _check_points(
    frame: pd.DataFrame, book: StationBook, now: datetime
) -> tuple[pd.DataFrame, list[Problem]]:
    n = len(frame)
    raw = frame[["record", "stcd", "variable", "time", "value", "unit"]]
    flags = Flags(n, frame["record"].to_numpy(dtype=object), raw, True)
    tm, naive = zoned_times(frame["time"])
    flags.flag(
        naive,
        "time",
        lambda i: (
            f"time {frame['time'].iloc[i]!r} has no UTC offset: WaterML/NWIS times must"
            " carry one (a date-only daily value cannot be placed in UTC)"
        ),
    )
    flags.flag(tm.isna().to_numpy(), "time", lambda i: f"unreadable time {frame['time'].iloc[i]!r}")
    flags.flag(
        outside_time_range(tm, now),
        "time",
        lambda i: f"time {frame['time'].iloc[i]!r} is before 1900 or in the future",
    )
    value, junk = numbers(frame["value"].astype(object).where(frame["value"].notna(), None))
    flags.flag(frame["value"].isna().to_numpy(), "value", lambda _i: "missing value (nil or empty)")
    flags.flag(junk, "value", lambda i: f"{frame['value'].iloc[i]!r} is not a number")
    nodata = frame["nodata"].astype("float64")
    flags.flag(
        ((value == nodata) | value.isin(SENTINELS)).to_numpy(),
        "value",
        lambda i: f"no-data value {value.iloc[i]:g}, not a measurement",
    )
    factors = np.array(
        [
            unit_factor(VARIABLES[v][2], u) if filled(u) else None
            for v, u in zip(frame["variable"], frame["unit"], strict=True)
        ],
        dtype=object,
    )
    flags.flag(np.array([f is None for f in factors], dtype=bool), "uom", _unit_reason(frame))
    value = value * np.array([f if f is not None else np.nan for f in factors], dtype="float64")
    is_rain = (frame["variable"] == "drp").to_numpy()
    flags.flag(
        is_rain & (value < 0).to_numpy(), "value", lambda i: f"negative rainfall {value.iloc[i]:g}"
    )
    flags.flag(
        is_rain & (value > HOURLY_RAIN_MAX_MM * 24).to_numpy(),
        "value",
        lambda i: f"rainfall {value.iloc[i]:g} mm is impossible",
    )
    known = book.mask(frame["stcd"].where(~flags.bad))
    flags.flag(~known, "STCD", lambda i: f"unknown station STCD {frame['stcd'].iloc[i]!r}")
    keep = ~flags.bad
    good = pd.DataFrame(
        {
            RECORD: frame["record"][keep].to_numpy(),
            "stcd": frame["stcd"][keep].to_numpy(),
            "tm": tm[keep].to_numpy(),
            "variable": frame["variable"][keep].to_numpy(),
            "value": value[keep].to_numpy(),
        }
    )
    good["tm"] = pd.to_datetime(good["tm"], utc=True)
    good["table"] = good["variable"].map(lambda v: VARIABLES[v][0])
    return good, flags.build()


_NAMES = {"q": "discharge", "z": "stage", "drp": "precipitation"}


def _unit_reason(frame: pd.DataFrame) -> Callable[[int], str]:
    def reason(i: int) -> str:
        unit, variable = frame["unit"].iloc[i], frame["variable"].iloc[i]
        known = ", ".join(UNITS[VARIABLES[variable][2]])
        if not filled(unit):
            return f"no unit of measure given for {_NAMES[variable]} (known: {known})"
        return f"unknown unit {unit!r} for {_NAMES[variable]} (known: {known})"

    return reason


def _merge_points(part: pd.DataFrame) -> pd.DataFrame:
    """One row per (station, time) with one column per variable (Q and Z of a gauge merge).

    A variable given twice for the same station and time keeps its last value; the earlier
    point is emitted as an extra copy of the row just before it, so the pipeline counts it as
    a duplicate.
    """
    part = part.reset_index(drop=True)
    dup = part.duplicated(["stcd", "tm", "variable"], keep="last").to_numpy()
    last = part[~dup]
    wide = last.pivot(index=["stcd", "tm"], columns="variable", values="value")
    records = last.groupby(["stcd", "tm"])[RECORD].first()
    wide = wide.join(records).reset_index()
    extra = part[dup][["stcd", "tm", RECORD]].merge(
        wide.drop(columns=[RECORD]), on=["stcd", "tm"], how="left"
    )
    merged = pd.concat([extra, wide], ignore_index=True)
    columns = [RECORD, "stcd", "tm"] + [c for c in ("z", "q", "drp") if c in merged]
    return merged[columns]
