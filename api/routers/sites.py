"""Work-safety monitoring (安全生产风险监测预警): hazardous sites with their grade, monitoring items
and points with graded thresholds, the points' readings, alarms and device faults, the villages
they threaten, and a site's monthly report — what the console's site layer and dialog draw.
Needs a token ("read"): operators' devices and contacts are not public."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query

from riskmap.api.areas import check_codes, scope
from riskmap.api.auth import Reader
from riskmap.api.deps import Connection
from riskmap.api.params import AwareInstant
from riskmap.api.responses import invalid, point_feature
from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.errors import InvalidArgumentError, NotFoundError
from riskmap.geo.worksafety.downwind import Wind, site_exposed_villages
from riskmap.geo.worksafety.report import site_month
from riskmap.geo.worksafety.vocabulary import ITEM_ZH, LEVEL_COLOUR, LEVEL_RANK, SITE_KIND_ZH

SQL = SqlFiles("riskmap.api.sql")

router = APIRouter(prefix="/api/sites", tags=["sites"])

#: a point's newest reading older than this does not make the site's current level
FRESH = timedelta(hours=1)
DEFAULT_SPAN = timedelta(hours=24)
MAX_SPAN = timedelta(days=31)
MAX_ROWS = 50_000

Kind = Literal["chemical_plant", "fireworks_warehouse", "fireworks_shop", "tailings_dam",
               "open_pit_slope"]  # fmt: skip


def _level(level: str | None) -> dict[str, Any] | None:
    if level is None:
        return None
    return {"level": level, "colour": LEVEL_COLOUR[level]}


@router.get("", summary="危险源列表 Hazardous sites")
def sites(
    conn: Connection,
    who: Reader,
    kind: Annotated[Kind | None, Query(description="only sites of this kind")] = None,
) -> dict[str, Any]:
    """GeoJSON (RFC 7946) points of the sites in the caller's area: kind (中文 first), whether
    they are monitored, their points, the newest reading, the highest threshold level the
    points' newest valid readings reach now (``level_now``, null when none), and the site's
    grade from its open alarms (``grade``, GB 39496 §5.5.4; what the map colours it by)."""
    rows = SQL.rows(
        conn,
        "sites_list.sql",
        {
            "area": scope(who),
            "kind": kind,
            "fresh_s": FRESH.total_seconds(),
            "levels": list(LEVEL_RANK),
        },
    )
    features = []
    for r in rows:
        r["kind_zh"] = SITE_KIND_ZH[r["kind"]]
        r["level_now"] = _level(r["level_now"])
        r["grade"] = _grade(r)
        features.append(point_feature(r))
    return {"type": "FeatureCollection", "features": features}


def _grade(r: dict[str, Any]) -> dict[str, Any] | None:
    """The site's grade from its open alarms (the alarm cycle's; null: no alarm)."""
    level, reason, since = r.pop("grade_level"), r.pop("grade_reason"), r.pop("grade_since")
    if level is None:
        return None
    return {"level": level, "colour": LEVEL_COLOUR[level], "reason": reason, "since": since}


def site(
    conn: Connection,
    who: Reader,
    site_id: Annotated[str, Path(min_length=1, max_length=100, description="site id")],
) -> dict[str, Any]:
    """The site row; 404 when unknown, 403 outside the caller's area."""
    row = conn.execute(SQL("sites_one.sql"), {"id": site_id}).fetchone()
    if row is None:
        raise NotFoundError(f"no hazardous site {site_id} (未找到该危险源)")
    check_codes(conn, who, [row["admin_code"]], "site")
    return row


Site = Annotated[dict[str, Any], Depends(site)]


@router.get("/{site_id}", summary="危险源详情 One hazardous site")
def one_site(
    conn: Connection,
    s: Site,
    wind_from: Annotated[
        float | None, Query(ge=0, lt=360, description="wind direction, from (° from north)")
    ] = None,
    wind_speed: Annotated[float | None, Query(ge=0, le=75, description="wind speed (m/s)")] = None,
) -> dict[str, Any]:
    """The site with its grade, its monitoring items (监测项目) with their points (thresholds,
    newest reading, the level it reaches), its open alarms and device faults; for a tailings
    dam the villages below it, for a chemical installation the villages within its emergency
    planning radius (narrowed to the downwind sector when a wind is given)."""
    if (wind_from is None) != (wind_speed is None):
        raise invalid("wind_from", "give wind_from and wind_speed together")
    points = SQL.rows(conn, "sites_points.sql", {"id": s["id"]})
    items: dict[str, dict[str, Any]] = {}
    for p in points:
        p["level"] = _level(_reached(p))
        item = items.setdefault(
            p["item"], {"item": p["item"], "item_zh": ITEM_ZH[p["item"]], "points": []}
        )
        item["points"].append({k: v for k, v in p.items() if k != "item"})
    grade_items = s.pop("grade_items") or {}
    for name, item in items.items():
        g = grade_items.get(name) or {}
        item["grade"] = _level(g.get("level"))
        item["grade_reason"] = g.get("reason")
    alarms = SQL.rows(
        conn,
        "sites_alarms.sql",
        {"area": None, "all": False, "site": s["id"], "kind": None, "limit": 500},
    )
    return {
        **s,
        "kind_zh": SITE_KIND_ZH[s["kind"]],
        "grade": _grade(s),
        "items": list(items.values()),
        "open_alarms": [_alarm(a) for a in alarms if a["kind"] == "threshold"],
        "faults": [_alarm(a) for a in alarms if a["kind"] == "fault"],
        "downstream": SQL.rows(conn, "sites_downstream.sql", {"id": s["id"]}),
        **_exposed(conn, s, wind_from, wind_speed),
    }


def _exposed(
    conn: Connection, s: dict[str, Any], wind_from: float | None, wind_speed: float | None
) -> dict[str, Any]:
    """A chemical installation's villages in its planning radius, nearest first (``exposed``;
    empty for other sites), and why there are none when its details give no radius."""
    if s["kind"] != "chemical_plant":
        return {"exposed": [], "exposed_note": None}
    wind = None if wind_from is None else Wind(wind_from, wind_speed or 0.0)
    try:
        found = site_exposed_villages(conn, s["id"], wind)
    except InvalidArgumentError as exc:  # its details give no radius and no grade: say so
        return {"exposed": [], "exposed_note": str(exc)}
    return {
        "exposed": [
            {
                "village_code": v.code,
                "village_name": v.name,
                "distance_m": round(v.distance_m),
                "bearing_deg": round(v.bearing_deg),
                "reason": v.reason,
            }
            for v in found
        ],
        "exposed_note": None,
    }


def _alarm(a: dict[str, Any]) -> dict[str, Any]:
    a["item_zh"] = ITEM_ZH.get(a["item"], a["item"])
    a["level"] = _level(a["level"])
    a["max_level"] = _level(a["max_level"])
    return a


def _reached(p: dict[str, Any]) -> str | None:
    """The highest threshold the newest valid reading reaches (None: none, or not valid)."""
    value = p["latest_value"]
    if value is None or p["latest_flag"] != "N":
        return None
    above = p["direction"] == "above"
    hit = [
        (LEVEL_RANK[level], level)
        for level, limit in p["thresholds"].items()
        if (value >= limit if above else value <= limit)
    ]
    return max(hit)[1] if hit else None


From = Annotated[AwareInstant | None, Query(alias="from", description="start (ISO 8601, +08:00)")]
To = Annotated[AwareInstant | None, Query(alias="to", description="end (ISO 8601 with offset)")]


@router.get("/{site_id}/readings", summary="监测数据曲线 Readings of a site's points")
def readings(
    conn: Connection,
    s: Site,
    start: From = None,
    end: To = None,
    point: Annotated[
        list[str] | None, Query(max_length=50, description="point ids (default: every point)")
    ] = None,
) -> dict[str, Any]:
    """Series per point over [from, to) (default the last 24 h, at most 31 days), with the
    point's thresholds so a chart can draw them as lines; ``truncated`` when more than
    50,000 readings fall in the window."""
    end = end or datetime.now().astimezone()
    start = start or end - DEFAULT_SPAN
    if start >= end:
        raise invalid("from", "from must be before to")
    if end - start > MAX_SPAN:
        raise invalid("from", f"at most {MAX_SPAN.days} days between from and to")
    known = {p["id"]: p for p in SQL.rows(conn, "sites_points.sql", {"id": s["id"]})}
    unknown = sorted(set(point or ()) - set(known))
    if unknown:
        raise invalid("point", f"not a point of site {s['id']}: {', '.join(unknown[:5])}")
    rows = SQL.rows(
        conn,
        "sites_readings.sql",
        {"id": s["id"], "start": start, "end": end, "points": point, "cap": MAX_ROWS + 1},
    )
    series: dict[str, list[list[Any]]] = {}
    for r in rows[:MAX_ROWS]:
        series.setdefault(r["point_id"], []).append([r["tm"], r["value"], r["flag"]])
    wanted = point or list(known)
    return {
        "site_id": s["id"],
        "from": start,
        "to": end,
        "truncated": len(rows) > MAX_ROWS,
        "points": [
            {
                "id": pid,
                "name": known[pid]["name"],
                "item": known[pid]["item"],
                "unit": known[pid]["unit"],
                "direction": known[pid]["direction"],
                "thresholds": known[pid]["thresholds"],
                "readings": series.get(pid, []),  # [time, value, device flag]
            }
            for pid in wanted
        ],
    }


@router.get("/{site_id}/report", summary="月度监测报告 A site's monthly report")
def month_report(
    conn: Connection,
    s: Site,
    month: Annotated[str, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")],
) -> dict[str, Any]:
    """Per point of the site over a Beijing-time month: readings, raw threshold crossings
    (what a one-value-per-point system raises), alarms raised, the highest level, device
    faults by kind; totals and the reduction of alarms against raw crossings (%)."""
    m = site_month(conn, s["id"], month)
    return {
        "site_id": m.site_id,
        "site_name": m.site_name,
        "month": m.month,
        "raw_crossings": m.raw_crossings,
        "alarms": m.alarms,
        "reduction_pct": None if m.reduction is None else round(m.reduction, 1),
        "events": m.events,
        "notices": m.notices,
        "faults": dict(m.faults),
        "points": [
            {
                "id": p.id,
                "name": p.name,
                "item": p.item,
                "item_zh": ITEM_ZH.get(p.item, p.item),
                "readings": p.readings,
                "raw_crossings": p.raw_crossings,
                "alarms": p.alarms,
                "max_level": p.max_level,
                "faults": dict(p.faults),
                "flapping": p.flapping,
                "suppressed": p.suppressed,
            }
            for p in m.points
        ],
    }


alarms_router = APIRouter(prefix="/api/alarms", tags=["sites"])


@alarms_router.get("", summary="监测报警 Work-safety alarms")
def alarms(
    conn: Connection,
    who: Reader,
    state: Annotated[Literal["open", "all"], Query(description="open ones, or all")] = "open",
    site_id: Annotated[str | None, Query(alias="site", max_length=100)] = None,
    kind: Annotated[
        Literal["threshold", "fault"] | None,
        Query(description="threshold alarms or device faults (设备故障)"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> dict[str, Any]:
    """Alarms of monitoring points in the caller's area, newest first: threshold alarms (after
    their minimum duration, with their level, peak and whether the point was flapping or in
    maintenance) and device faults (stuck, out of range, impossible jump, silent)."""
    rows = SQL.rows(
        conn,
        "sites_alarms.sql",
        {"area": scope(who), "all": state == "all", "site": site_id, "kind": kind,
         "limit": limit},
    )  # fmt: skip
    return {"alarms": [_alarm(a) for a in rows], "state": state}
