"""Gathering the rules' inputs for every village at once: one SQL query per distinct input spec.

Each fetcher returns arrays aligned with :class:`Villages` (sorted village codes): numeric
outputs as float arrays with NaN for NULL (no data for that village), labels as object arrays.
Two rules reading the same spec (e.g. 3 h rain) share one query.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import psycopg

from riskmap.geo.db.float8_arrays import FLOAT8_ARRAY_OID, Float8ArrayLoader
from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.errors import InvalidArgumentError
from riskmap.geo.rules import model as m
from riskmap.geo.rules import rain_arrays
from riskmap.geo.rules.cap_events import SIGNAL_EN, event_zh_of_en, signal_type
from riskmap.geo.rules.land_cover import FOREST_MIN, forest_fraction
from riskmap.geo.rules.render import beijing_en, beijing_zh
from riskmap.geo.rules.villages import Villages
from riskmap.geo.vocabulary import BEIJING

SQL = SqlFiles("riskmap.geo.rules.sql")
# Yu Yanxiang et al. (2013), DOMAIN.md: (A, C, R0) along the long and short axes, and B.
ATTENUATION = {
    "eastern": ((5.7123, 4.2903, 25.0), (3.6588, 3.5406, 13.0), 1.3626),
    "moderate": ((5.8410, 3.6570, 15.0), (3.9440, 2.8450, 7.0), 1.0710),
}
# Hotspots: VIIRS class 'low' and MODIS confidence under 30 % are low confidence (FIRMS user
# guide); a spot seen on REPEAT_DAYS earlier days of the last month within REPEAT_M is a
# persistent heat source (a factory, a kiln) and set aside ⚠ (local choices).
MODIS_LOW_PCT = 30
REPEAT_M = 750.0
REPEAT_DAYS = 3
REPEAT_WINDOW_DAYS = 30
SATELLITES = {  # FIRMS satellite code → name
    "T": "Terra", "A": "Aqua", "N": "Suomi NPP", "N20": "NOAA-20", "N21": "NOAA-21",
    "1": "NOAA-20", "J1": "NOAA-20", "J2": "NOAA-21",
}  # fmt: skip
VIIRS_CONFIDENCE_ZH = {"low": "低", "nominal": "中等", "high": "高"}
# CMA warning signal types (DOMAIN.md): a relayed signal keeps its event, said in English too


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
    # both stages of a duration come from one query
    out |= _flash_thresholds(conn, [s for s in specs if isinstance(s, m.FlashThreshold)], villages)
    forecasts: dict[int, np.ndarray] = {}  # the outlooks of 1, 3 and 6 h share their forecasts
    for spec in specs:
        if isinstance(spec, m.RainOutlook):
            out[spec] = _rain_outlook(conn, at, spec, villages, forecasts)
        elif spec not in out:
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


def _rain_outlook(
    conn,
    at,
    spec: m.RainOutlook,
    villages: Villages,
    forecasts: dict[int, np.ndarray] | None = None,
) -> InputValues:
    """Observed rain of the last ``hours - k`` hours plus forecast of the next ``k``, for the
    wettest k in 1 … hours (实况 + 预报 in one window, as flash-flood warning practice adds
    them); NaN where no forecast reaches the village. A village with no observation counts its
    past hours as dry (the forecast alone then decides, as before). ``forecasts`` (k → rain) is
    shared by the outlooks of one run, so each forecast window is queried once."""
    n, d = len(villages), spec.hours
    past = [h for h in range(1, d)]
    observed = _observed_windows(conn, at, past, villages) if past else {}
    best = np.full(n, np.nan)
    best_obs = np.full(n, np.nan)
    best_fc = np.full(n, np.nan)
    for k in range(1, d + 1):
        fc_k = None if forecasts is None else forecasts.get(k)
        if fc_k is None:
            spec_k = m.RainForecast(kind="rain_forecast", hours=k)
            fc_k = _rain_forecast(conn, at, spec_k, villages).numbers[""]
            if forecasts is not None:
                forecasts[k] = fc_k
        obs = np.nan_to_num(observed.get(d - k, np.zeros(n)), nan=0.0) if k < d else np.zeros(n)
        total = obs + fc_k
        better = ~np.isnan(total) & (np.isnan(best) | (total > best))
        best = np.where(better, total, best)
        best_obs = np.where(better, obs, best_obs)
        best_fc = np.where(better, fc_k, best_fc)
    return InputValues({"": best, "_observed": best_obs, "_forecast": best_fc}, {})


def _observed_windows(conn, at, hours: list[int], villages: Villages) -> dict[int, np.ndarray]:
    """Observed rain (mm) over (at - h, at] for each h, as _rain_windows gathers it."""
    specs = [m.RainWindow.model_construct(kind="rain_window", hours=h) for h in hours]
    got = _rain_windows(conn, at, specs, villages)
    return {s.hours: got[s].numbers[""] for s in specs}


def _flash_threshold(conn, at, spec: m.FlashThreshold, villages: Villages) -> InputValues:
    return _flash_thresholds(conn, [spec], villages)[spec]


def _flash_thresholds(
    conn, specs: list[m.FlashThreshold], villages: Villages
) -> dict[m._Input, InputValues]:
    """Flash-flood thresholds, one query per duration for both stages."""
    out: dict[m._Input, InputValues] = {}
    n = len(villages)
    for duration in sorted({s.duration_h for s in specs}):
        with conn.cursor(binary=True) as cur:
            cur.adapters.register_loader(FLOAT8_ARRAY_OID, Float8ArrayLoader)
            sql = SQL("flash_thresholds.sql")
            codes, *stages = cur.execute(sql, {"duration_h": duration}).fetchone()
        pos, found = villages.index(codes)
        both = {}
        for stage, values in zip(("prepare", "immediate"), stages, strict=True):
            both[stage] = np.full(n, np.nan)
            both[stage][pos] = values[found]
        for spec in specs:
            if spec.duration_h == duration:
                out[spec] = InputValues({"": both[spec.stage]}, {})
    return out


def _river_stage(conn, at, spec: m.RiverStage, villages: Villages) -> InputValues:
    params = {"at": at, "max_age_s": spec.max_age_hours * 3600, "relations": list(spec.relations)}
    rows = SQL.rows(conn, "river_stage.sql", params, shape="tuple")
    cols = {"": 1, "_z": 2, "_wrz": 3, "_alarm": 4, "_grz": 5}
    got = _spread(villages, rows, cols, {"_station": 6, "_station_name": 7, "_river": 8})
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
        villages,
        rows,
        {"": 1, "_rz": 2, "_limit": 3, "_design": 4, "_check": 5},
        {"_station": 6, "_station_name": 7},
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
    """Hotspots near each village, weighed (see ``model.HotspotDistance``)."""
    params = {
        "at": at,
        "age_s": spec.hours * 3600,
        "max_m": spec.max_km * 1000,
        "max_deg": spec.max_km / 50.0,  # ≥ the longitude span of max_km up to 63° N
        "repeat_m": REPEAT_M,
        "repeat_deg": REPEAT_M / 50_000.0,
        "repeat_window_days": REPEAT_WINDOW_DAYS,
    }
    rows = SQL.rows(conn, "hotspot_distance.sql", params, shape="tuple")
    n = len(villages)
    nums = {k: np.full(n, np.nan) for k in ("", "_count", "_confident", "_set_aside")}
    labels = {k: np.full(n, None, dtype=object) for k in m.HotspotDistance.LABELS}
    nums["_count"][:] = 0.0
    nums["_set_aside"][:] = 0.0
    if not rows:
        return InputValues(nums, labels)
    forest = forest_fraction(conn, [r[8] for r in rows], [r[9] for r in rows])
    pos, found = villages.index(r[0] for r in rows)
    kept_rows = [(r, f) for r, f, ok in zip(rows, forest.tolist(), found, strict=True) if ok]
    nearest: dict[int, tuple] = {}
    for p, (row, frac) in zip(pos.tolist(), kept_rows, strict=True):
        if row[10] >= REPEAT_DAYS:
            nums["_set_aside"][p] += 1
            continue
        on_forest = frac != frac or frac >= FOREST_MIN  # unknown cover: possibly forest
        if (spec.cover == "forest" and not on_forest) or (spec.cover == "farmland" and on_forest):
            continue
        nums["_count"][p] += 1
        if p not in nearest:  # rows come nearest first per village
            nearest[p] = row
    nums["_set_aside"][nums["_set_aside"] == 0] = np.nan  # nothing set aside: nothing to say
    for p, row in nearest.items():
        _, _, km, sat, instrument, when, pct, cls, *_ = row
        nums[""][p] = km
        low = cls == "low" if instrument == "VIIRS" else pct is not None and pct < MODIS_LOW_PCT
        nums["_confident"][p] = 0.0 if low and nums["_count"][p] < 2 else 1.0
        name = SATELLITES.get(sat, sat)
        labels["_satellite"][p] = f"{name}卫星"
        labels["_satellite_en"][p] = f"{name} ({instrument})"
        labels["_time"][p] = beijing_zh(when)
        labels["_time_en"][p] = beijing_en(when)
        if cls is not None:
            labels["_confidence"][p] = f"{VIIRS_CONFIDENCE_ZH.get(cls, cls)}置信度"
            labels["_confidence_en"][p] = f"{cls} confidence"
        elif pct is not None:
            labels["_confidence"][p] = f"置信度{pct}%"
            labels["_confidence_en"][p] = f"{pct} % confidence"
    return InputValues(nums, labels)


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
    params = {"at": at, "require_verified": spec.require_verified}
    # Chinese texts take the source's words only from a Chinese info block, English texts only
    # an English event: a foreign-language alert is relayed in zh-CN as 上级预警信号, naming its
    # hazard in Chinese when the English event names a known one (event_zh_of_en)
    rows = [
        (code, colour, *((event, issuer, headline) if _is_zh(lang, event) else (None,) * 3),
         None if _is_zh(lang, event) or not _is_en(lang) else event)
        for code, colour, event, issuer, headline, lang in SQL.rows(
            conn, "cap_colour.sql", params, shape="tuple"
        )
    ]  # fmt: skip
    got = _spread(
        villages, rows, {"": 1}, {"_event": 2, "_issuer": 3, "_headline": 4, "_event_en": 5}
    )
    events, english = got.labels["_event"], got.labels["_event_en"]
    n = len(villages)
    said = np.flatnonzero(~(np.equal(events, None) & np.equal(english, None)))
    zh_of, en_of = np.full(n, None, dtype=object), np.full(n, None, dtype=object)
    for i in said.tolist():  # a village without either keeps None in both (as it was)
        e, en = events[i], english[i]
        en_of[i] = en if e is None else SIGNAL_EN.get(signal_type(e))
        zh_of[i] = event_zh_of_en(en) if e is None else signal_type(e)
    got.labels["_event_en"], got.labels["_event"] = en_of, zh_of
    return got


def _is_zh(language: str, event: str | None) -> bool:
    """Chinese: said so, or Chinese words under CAP's default en-US (no <language> sent)."""
    if language.lower().startswith("zh"):
        return True
    return language == "en-US" and bool(re.search(r"[\u4e00-\u9fff]", event or ""))


def _is_en(language: str) -> bool:
    return language.lower().startswith("en")


def _sensor(conn, at, spec: m.SensorOverAlarm, villages: Villages) -> InputValues:
    params = {"at": at, "max_age_s": spec.max_age_hours * 3600}
    return _spread(
        villages, SQL.rows(conn, "sensor_alarm.sql", params, shape="tuple"), {"": 1, "_ratio": 2}
    )


_FETCHERS: dict[type, Callable[..., InputValues]] = {
    m.RainWindow: _rain_window,
    m.RainForecast: _rain_forecast,
    m.RainOutlook: _rain_outlook,
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
