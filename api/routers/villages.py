"""One village's page: its risk profile, critical rainfall, people, responsible persons and
nearby hazard points; its recent rain, the levels of the stations that concern it, and its
warnings. Needs a token ("read")."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query

from riskmap.api.areas import check_codes
from riskmap.api.auth import Reader
from riskmap.api.deps import Connection
from riskmap.api.params import AwareInstant
from riskmap.api.responses import file_names, invalid, point_feature
from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.errors import NotFoundError

SQL = SqlFiles("riskmap.api.sql")

router = APIRouter(prefix="/api/villages", tags=["villages"])

#: accumulation windows of the rain endpoint (hours), those the flash-flood indicators use
RAIN_WINDOWS = (1, 3, 6, 12, 24)
DEFAULT_SPAN = timedelta(hours=24)
MAX_SPAN = timedelta(days=31)
MAX_STEPS = 2000
_STEP = re.compile(r"^(\d{1,4})([mh]?)$")


def village(
    conn: Connection,
    who: Reader,
    code: Annotated[str, Path(pattern=r"^\d{12}$", description="12-digit village code")],
) -> dict[str, Any]:
    """The village row (with township and county names); 404 when the code is unknown, 403
    when it lies outside the caller's area of responsibility."""
    row = conn.execute(SQL("villages_profile.sql"), {"code": code}).fetchone()
    if row is None:
        raise NotFoundError(f"no village {code} (未找到该村)")
    check_codes(conn, who, [code], "village")
    return row


Village = Annotated[dict[str, Any], Depends(village)]
From = Annotated[AwareInstant | None, Query(alias="from", description="start (ISO 8601, +08:00)")]
To = Annotated[AwareInstant | None, Query(alias="to", description="end (ISO 8601 with offset)")]


def _window(start: datetime | None, end: datetime | None, latest: datetime | None):
    """[from, to]: defaults to the 24 h before the latest data (or now); checked for order."""
    if end is None:
        end = start + DEFAULT_SPAN if start is not None else latest or datetime.now().astimezone()
    start = start if start is not None else end - DEFAULT_SPAN
    if start >= end:
        raise invalid("from", "from must be before to")
    if end - start > MAX_SPAN:
        raise invalid("from", f"at most {MAX_SPAN.days} days between from and to")
    return start, end


def _step(text: str) -> timedelta:
    """``30m``, ``1h``, ``3h`` or a bare number of hours."""
    m = _STEP.match(text.strip())
    if not m:
        raise invalid("step", "step like 30m, 1h or 3h")
    n = int(m.group(1))
    step = timedelta(minutes=n) if m.group(2) == "m" else timedelta(hours=n)
    if not timedelta(minutes=5) <= step <= timedelta(hours=24):
        raise invalid("step", "step between 5m and 24h")
    return step


@router.get("/{code}", summary="村风险档案 Village risk profile")
def profile(
    conn: Connection,
    _: Reader,
    v: Village,
    radius_m: Annotated[float, Query(ge=0, le=20000, description="hazard points nearby")] = 2000,
) -> dict[str, Any]:
    """Risk level per hazard (method, inputs), flash-flood critical rainfall, people and
    facilities, township, responsible persons with their duties, and hazard points within
    ``radius_m`` of the village (geodesic, nearest first)."""
    p = {"code": v["code"], "radius_m": radius_m}
    return {
        "village": v,
        # the method's inputs name the rasters read: file name and hash, never the server's folders
        "risk": [
            r | {"inputs": file_names(r["inputs"])} for r in SQL.rows(conn, "villages_risk.sql", p)
        ],
        "flash_flood_thresholds": SQL.rows(conn, "villages_thresholds.sql", p),
        "facilities": SQL.rows(conn, "villages_facilities.sql", p),
        "responsible": SQL.rows(conn, "villages_duties.sql", p),
        "hazard_points": {
            "type": "FeatureCollection",
            "radius_m": radius_m,
            "features": [point_feature(r) for r in SQL.rows(conn, "villages_hazard_points.sql", p)],
        },
    }


@router.get("/{code}/rain", summary="村降雨时序 Village rainfall series")
def rain(
    conn: Connection,
    _: Reader,
    v: Village,
    start: From = None,
    end: To = None,
    step: Annotated[str, Query(description="30m, 1h, 3h …")] = "1h",
) -> dict[str, Any]:
    """Observed rain per ``step`` (qpe analyses, gauges, and the one the rules use: qpe with
    coverage, else gauges), its running total, and accumulations over 1/3/6/12/24 h up to
    ``to``. Defaults: the 24 h up to the village's latest observation."""
    dt = _step(step)
    latest = conn.execute(SQL("villages_rain_latest.sql"), {"code": v["code"]}).fetchone()
    start, end = _window(start, end, latest["latest"] if latest else None)
    if (end - start) / dt > MAX_STEPS:
        raise invalid("step", f"at most {MAX_STEPS} steps; use a longer step")
    p = {"code": v["code"], "from": start, "to": end, "step": dt, "hours": list(RAIN_WINDOWS)}
    series, total = [], 0.0
    for r in SQL.rows(conn, "villages_rain_series.sql", p):
        use_qpe = r["qpe_mm"] is not None and (r["qpe_coverage"] or 0) > 0
        mm = r["qpe_mm"] if use_qpe else r["gauge_mm"]
        total += mm or 0.0
        r |= {"rain_mm": mm, "source": ("qpe" if use_qpe else "gauge") if mm is not None else None}
        series.append(r | {"cumulative_mm": round(total, 3)})
    return {
        "village_code": v["code"],
        "from": start,
        "to": end,
        "step_minutes": dt.total_seconds() / 60,
        "series": series,
        "windows": SQL.rows(conn, "villages_rain_windows.sql", p),
    }


def _state(s: dict[str, Any], level: float | None) -> str | None:
    """超保证 / 超警戒 for rivers, 超汛限 for reservoirs, else normal (None without data)."""
    if level is None:
        return None
    if s["guarantee_z"] is not None and level >= s["guarantee_z"]:
        return "above_guarantee"
    if s["warning_z"] is not None and level >= s["warning_z"]:
        return "above_warning"
    if s["flood_limit_z"] is not None and level >= s["flood_limit_z"]:
        return "above_flood_limit"
    return "normal"


@router.get("/{code}/levels", summary="相关测站水位 Levels of the stations concerning the village")
def levels(conn: Connection, _: Reader, v: Village, start: From = None, end: To = None):
    """River stages and reservoir levels of the stations concerning the village
    (station_village) as time series, with warning/guarantee and flood-limit levels and the
    state of the latest reading. Defaults: the 24 h up to the latest observation."""
    stcds = [
        s["stcd"] for s in SQL.rows(conn, "villages_stations.sql", {"code": v["code"], "at": "now"})
    ]
    latest = conn.execute(SQL("villages_levels_latest.sql"), {"stcds": stcds})
    start, end = _window(start, end, latest.fetchone()["latest"])
    # flood limits are seasonal: the season at `to`
    stations = SQL.rows(conn, "villages_stations.sql", {"code": v["code"], "at": end})
    obs = SQL.rows(conn, "villages_levels_obs.sql", {"stcds": stcds, "from": start, "to": end})
    for s in stations:
        s["series"] = [
            {k: val for k, val in o.items() if k != "stcd"} for o in obs if o["stcd"] == s["stcd"]
        ]
        last = next((o["level_m"] for o in reversed(s["series"]) if o["level_m"] is not None), None)
        s["latest_level_m"] = last
        s["state"] = _state(s, last)
    return {"village_code": v["code"], "from": start, "to": end, "stations": stations}


@router.get("/{code}/warnings", summary="村预警 Warnings of the village")
def warnings(
    conn: Connection,
    _: Reader,
    v: Village,
    status: Annotated[
        list[Literal["candidate", "issued", "rejected", "cancelled", "expired"]] | None,
        Query(description="only these states (repeat the parameter)"),
    ] = None,
) -> dict[str, Any]:
    """Every warning whose area includes the village, newest first."""
    rows = SQL.rows(conn, "villages_warnings.sql", {"code": v["code"], "status": status})
    return {"village_code": v["code"], "warnings": rows}
