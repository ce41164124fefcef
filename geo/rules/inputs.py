"""Gathering the rules' inputs for every village at once: one SQL query per distinct input spec.

Each fetcher returns arrays aligned with :class:`Villages` (sorted village codes): numeric
outputs as float arrays with NaN for NULL (no data for that village), labels as object arrays.
Two rules reading the same spec (e.g. 3 h rain) share one query.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import psycopg

from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.errors import InvalidArgumentError
from riskmap.geo.rules import model as m
from riskmap.geo.rules import rain_arrays
from riskmap.geo.rules.villages import Villages
from riskmap.geo.vocabulary import BEIJING

SQL = SqlFiles("riskmap.geo.rules.sql")
# Yu Yanxiang et al. (2013), DOMAIN.md: (A, C, R0) along the long and short axes, and B.
ATTENUATION = {
    "eastern": ((5.7123, 4.2903, 25.0), (3.6588, 3.5406, 13.0), 1.3626),
    "moderate": ((5.8410, 3.6570, 15.0), (3.9440, 2.8450, 7.0), 1.0710),
}


@dataclass(frozen=True)
class InputValues:
    """What one input spec gives: numeric outputs and labels by suffix (``""`` = the name)."""

    numbers: dict[str, np.ndarray]
    labels: dict[str, np.ndarray]


def gather(
    conn: psycopg.Connection, at: datetime, specs: Iterable[m._Input], villages: Villages
) -> dict[m._Input, InputValues]:
    """Fetch every distinct spec once, for all villages.

    Parameters
    ----------
    conn
        Connection to the riskmap database.
    at
        The evaluation time (timezone-aware): observations up to it, forecasts issued by it.
    specs
        Input specs of the rules to run; equal specs are fetched once.
    villages
        The village order every array follows.
    """
    if at.tzinfo is None:
        raise InvalidArgumentError("at must be timezone-aware (UTC)")
    specs = list(dict.fromkeys(specs))
    # every observed-rain window in one pass over the village rain (see rain_windows.sql)
    out: dict[m._Input, InputValues] = _rain_windows(
        conn, at, [s for s in specs if isinstance(s, m.RainWindow)], villages
    )
    for spec in specs:
        if spec not in out:
            out[spec] = _FETCHERS[type(spec)](conn, at, spec, villages)
    return out


def _spread(
    villages: Villages,
    rows: list[tuple],
    numeric: dict[str, int],
    labels: dict[str, int] | None = None,
) -> InputValues:
    """Scatter query rows (village code first) into village-ordered arrays."""
    n = len(villages)
    pos, found = villages.index(r[0] for r in rows)
    kept = [r for r, f in zip(rows, found, strict=True) if f]
    numbers = {}
    for suffix, col in numeric.items():
        arr = np.full(n, np.nan)
        arr[pos] = np.array([np.nan if r[col] is None else r[col] for r in kept], dtype=float)
        numbers[suffix] = arr
    texts = {}
    for suffix, col in (labels or {}).items():
        arr = np.full(n, None, dtype=object)
        arr[pos] = [r[col] for r in kept]
        texts[suffix] = arr
    return InputValues(numbers, texts)


def _flag(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """1.0 where a > b, 0.0 where not, NaN where either is NULL."""
    with np.errstate(invalid="ignore"):
        return np.where(np.isnan(a) | np.isnan(b), np.nan, (a > b).astype(float))


def _rain_window(conn, at, spec: m.RainWindow, villages: Villages) -> InputValues:
    rows = SQL.rows(conn, "rain_window.sql", {"at": at, "hours": spec.hours}, shape="tuple")
    return _spread(villages, rows, {"": 1})


def _rain_windows(
    conn, at, specs: list[m.RainWindow], villages: Villages
) -> dict[m._Input, InputValues]:
    """All observed-rain windows with one query (rows: window hours, village, rain)."""
    if not specs:
        return {}
    hours = sorted({s.hours for s in specs})
    by_hours = rain_arrays.rain_windows(conn, at, hours, villages)  # the grid arrays, if simple
    if by_hours is None:
        by_hours = {}
        for h, codes, rain in SQL.rows(
            conn, "rain_windows.sql", {"at": at, "hours": hours}, shape="tuple"
        ):
            arr = np.full(len(villages), np.nan)
            pos, found = villages.index(codes)
            arr[pos] = np.asarray(rain, dtype=float)[found]  # NULL → NaN
            by_hours[h] = arr
    out: dict[m._Input, InputValues] = {}
    for spec in specs:
        arr = by_hours.get(spec.hours)
        out[spec] = InputValues({"": np.full(len(villages), np.nan) if arr is None else arr}, {})
    return out


def _rain_forecast(conn, at, spec: m.RainForecast, villages: Villages) -> InputValues:
    rows = SQL.rows(conn, "rain_forecast.sql", {"at": at, "hours": spec.hours}, shape="tuple")
    return _spread(villages, rows, {"": 1})


def _flash_threshold(conn, at, spec: m.FlashThreshold, villages: Villages) -> InputValues:
    rows = SQL.rows(conn, "flash_threshold.sql", {"duration_h": spec.duration_h}, shape="tuple")
    return _spread(villages, rows, {"": 1 if spec.stage == "prepare" else 2})


def _river_stage(conn, at, spec: m.RiverStage, villages: Villages) -> InputValues:
    params = {"at": at, "max_age_s": spec.max_age_hours * 3600, "relations": list(spec.relations)}
    rows = SQL.rows(conn, "river_stage.sql", params, shape="tuple")
    cols = {"": 1, "_z": 2, "_wrz": 3, "_alarm": 4, "_grz": 5}
    got = _spread(villages, rows, cols, {"_station": 6})
    x = got.numbers
    x["_over_warning"] = _flag(x["_z"], x["_wrz"])
    x["_over_alarm"] = _flag(x["_z"], x.pop("_alarm"))
    x["_over_guarantee"] = _flag(x["_z"], x["_grz"])
    return got


def _reservoir_level(conn, at, spec: m.ReservoirLevel, villages: Villages) -> InputValues:
    mmdd = at.astimezone(BEIJING).strftime("%m%d")
    params = {
        "at": at,
        "max_age_s": spec.max_age_hours * 3600,
        "relations": list(spec.relations),
        "mmdd": mmdd,
    }
    rows = SQL.rows(conn, "reservoir_level.sql", params, shape="tuple")
    got = _spread(
        villages, rows, {"": 1, "_rz": 2, "_limit": 3, "_design": 4, "_check": 5}, {"_station": 6}
    )
    x = got.numbers
    x["_over_limit"] = _flag(x["_rz"], x["_limit"])
    x["_over_design"] = _flag(x["_rz"], x.pop("_design"))
    x["_over_check"] = _flag(x["_rz"], x.pop("_check"))
    return got


def _geohazard_risk(conn, at, spec: m.GeohazardRisk, villages: Villages) -> InputValues:
    rows = SQL.rows(conn, "geohazard_risk.sql", {"at": at}, shape="tuple")
    return _spread(villages, rows, {"": 1, "_people": 2, "_households": 3, "_points": 4})


def _hotspot(conn, at, spec: m.HotspotDistance, villages: Villages) -> InputValues:
    params = {
        "at": at,
        "age_s": spec.hours * 3600,
        "max_m": spec.max_km * 1000,
        "max_deg": spec.max_km / 50.0,  # ≥ the longitude span of max_km up to 63° N
    }
    rows = SQL.rows(conn, "hotspot_distance.sql", params, shape="tuple")
    got = _spread(villages, rows, {"": 1, "_count": 2})
    got.numbers["_count"] = np.nan_to_num(got.numbers["_count"], nan=0.0)
    return got


def _fire_danger(conn, at, spec: m.FireDanger, villages: Villages) -> InputValues:
    return _spread(villages, SQL.rows(conn, "fire_danger.sql", {"at": at}, shape="tuple"), {"": 1})


def intensity(magnitude: np.ndarray, distance_km: np.ndarray, region: str) -> np.ndarray:
    """Integer intensity (0–12) at epicentral distance ``distance_km`` from magnitude ``M``.

    Yu Yanxiang et al. (2013) elliptical attenuation ``I = A + B·M − C·lg(R + R0)``; with the
    fault strike unknown the ellipse of intensity I is taken as the circle of radius
    √(Ra·Rb), Ra and Rb being the long- and short-axis radii inverted from the relation.
    The village gets the highest I whose circle contains it (0 when none of I–XII does).
    """
    (aa, ca, r0a), (ab, cb, r0b), b = ATTENUATION[region]
    mag = np.asarray(magnitude, dtype=float)
    dist = np.asarray(distance_km, dtype=float)
    out = np.zeros(np.broadcast(mag, dist).shape)
    for level in range(1, 13):
        ra = 10 ** ((aa + b * mag - level) / ca) - r0a
        rb = 10 ** ((ab + b * mag - level) / cb) - r0b
        radius = np.sqrt(np.clip(ra, 0, None) * np.clip(rb, 0, None))
        out = np.where((ra > 0) & (rb > 0) & (dist <= radius), level, out)
    return out


def _quake(conn, at, spec: m.QuakeIntensity, villages: Villages) -> InputValues:
    rows = SQL.rows(
        conn, "quake_distance.sql", {"at": at, "age_s": spec.hours * 3600}, shape="tuple"
    )
    n = len(villages)
    inten, mags, dists = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    if rows:
        pos, found = villages.index(r[0] for r in rows)
        mag = np.array([r[1] for r in rows], dtype=float)[found]
        dist = np.array([r[2] for r in rows], dtype=float)[found]
        level = intensity(mag, dist, spec.region)
        order = np.lexsort((-dist, level))  # ascending: the last write per village wins
        inten[pos[order]], mags[pos[order]], dists[pos[order]] = (
            level[order], mag[order], dist[order],
        )  # fmt: skip
    return InputValues({"": inten, "_magnitude": mags, "_distance_km": dists}, {})


def _cap_colour(conn, at, spec: m.UpstreamCapColour, villages: Villages) -> InputValues:
    return _spread(
        villages,
        SQL.rows(conn, "cap_colour.sql", {"at": at}, shape="tuple"),
        {"": 1},
        {"_event": 2},
    )


def _sensor(conn, at, spec: m.SensorOverAlarm, villages: Villages) -> InputValues:
    params = {"at": at, "max_age_s": spec.max_age_hours * 3600}
    return _spread(
        villages, SQL.rows(conn, "sensor_alarm.sql", params, shape="tuple"), {"": 1, "_ratio": 2}
    )


_FETCHERS: dict[type, Callable[..., InputValues]] = {
    m.RainWindow: _rain_window,
    m.RainForecast: _rain_forecast,
    m.FlashThreshold: _flash_threshold,
    m.RiverStage: _river_stage,
    m.ReservoirLevel: _reservoir_level,
    m.GeohazardRisk: _geohazard_risk,
    m.HotspotDistance: _hotspot,
    m.FireDanger: _fire_danger,
    m.QuakeIntensity: _quake,
    m.UpstreamCapColour: _cap_colour,
    m.SensorOverAlarm: _sensor,
}
