"""Rainfall frequency (暴雨频率): how rare a storm is at a village, and whether its critical
rainfall (山洪临界雨量) fits the village's record — what ``riskmap frequency run`` stored from
the archive's annual maxima (geo/frequency). Needs a token ("read")."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from riskmap.api.areas import scope
from riskmap.api.auth import Reader
from riskmap.api.deps import Connection
from riskmap.api.routers.villages import Village
from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.vocabulary import NEVER_WARN_ABOVE_YEARS, OVER_WARN_BELOW_YEARS

SQL = SqlFiles("riskmap.api.sql")

router = APIRouter(tags=["frequency"])

Source = Annotated[
    str | None,
    Query(min_length=1, max_length=200, description="archive label; default: the newest run"),
]

METHOD = {
    "zh": "年最大值序列：不足5个完整年份不拟合；不足30年用耿贝尔分布（极大似然），30年及以上"
    "在似然比检验（5%）拒绝耿贝尔时用广义极值分布(GEV)。置信区间：参数自助法。临界雨量的重现期"
    "按年最大值计（≥1年），并按Langbein关系换算为超定量（PDS）重现期；PDS重现期不足1年标记"
    "over_warn（平均每年预警不止一次），年最大值重现期超过50年标记may_never_warn。",
    "en": "Annual-maximum series: no fit under 5 complete years; Gumbel (maximum likelihood) "
    "under 30 years; from 30 years GEV when a likelihood-ratio test (5 %) rejects Gumbel. "
    "Intervals: parametric bootstrap. Thresholds get annual-maximum return periods (≥ 1 year) "
    "and partial-duration ones by Langbein's relation; over_warn below 1 year (PDS, warned "
    "more than once a year on average), may_never_warn above 50 years (annual maximum).",
    "over_warn_below_years": OVER_WARN_BELOW_YEARS,
    "may_never_warn_above_years": NEVER_WARN_ABOVE_YEARS,
}


def _num(x: float | None, digits: int = 3) -> float | None:
    """JSON has no infinity: a threshold beyond the fitted distribution's upper bound (GEV
    with ξ < 0) has no finite return period and reads as null."""
    return None if x is None or not math.isfinite(x) else round(x, digits)


def _threshold(r: dict[str, Any], kind: str) -> dict[str, Any] | None:
    if r[f"{kind}_mm"] is None:
        return None
    return {
        "mm": r[f"{kind}_mm"],
        "return_period_years": _num(r[f"{kind}_t_am"], 2),
        "return_period_pds_years": _num(r[f"{kind}_t_pds"], 3),
        "years_exceeded": r[f"{kind}_years_exceeded"],
        "flag": r[f"{kind}_flag"],
    }


def _duration(r: dict[str, Any]) -> dict[str, Any]:
    fitted = r["distribution"] is not None
    return {
        "duration_h": r["duration_h"],
        "n_years": r["n_years"],
        "first_year": r["first_year"],
        "last_year": r["last_year"],
        "distribution": r["distribution"],
        "parameters": (
            {"loc": _num(r["loc"], 4), "scale": _num(r["scale"], 4), "shape": _num(r["shape"], 4)}
            if fitted
            else None
        ),
        "likelihood_ratio": (
            {"statistic": _num(r["lr_statistic"], 4), "p_value": _num(r["lr_pvalue"], 4)}
            if r["lr_statistic"] is not None
            else None
        ),
        "return_levels": r["return_levels"],
        "ci_level": r["ci_level"],
        "ci_method": r["ci_method"],
        "note": r["note"],
        "thresholds": (
            {
                "soil_state": r["soil_state"],
                "prepare": _threshold(r, "prepare"),  # 准备转移
                "immediate": _threshold(r, "immediate"),  # 立即转移
            }
            if r["soil_state"] is not None
            else None
        ),
    }


@router.get("/api/villages/{code}/frequency", summary="村暴雨频率 Village rainfall frequency")
def village_frequency(
    conn: Connection, _: Reader, v: Village, source: Source = None
) -> dict[str, Any]:
    """Per duration (1–24 h): the distribution fitted to the archive's annual maxima, its
    parameters and number of years, return levels for 2–100 years with their confidence
    interval, and the village's critical rainfall with its return periods and flags. Without
    stored results the answer is 200 with no durations and a ``message`` saying why."""
    rows = SQL.rows(conn, "villages_frequency.sql", {"code": v["code"]})
    computed = list(dict.fromkeys(r["source"] for r in rows))  # newest run first
    archived = [
        r["source"] for r in SQL.rows(conn, "villages_annual_max_sources.sql", {"code": v["code"]})
    ]
    chosen = source if source is not None else (computed[0] if computed else None)
    picked = [r for r in rows if r["source"] == chosen]
    body: dict[str, Any] = {
        "village_code": v["code"],
        "village_name": v["name"],
        "source": chosen,
        "sources": computed,
        "archive_sources": archived,
        "computed_at": picked[0]["computed_at"] if picked else None,
        "method": METHOD,
        "durations": [_duration(r) for r in picked],
        "message": None,
    }
    if not picked:
        body["message"] = _why_empty(source, computed, archived)
    return body


def _why_empty(source: str | None, computed: list[str], archived: list[str]) -> str:
    if source is not None and source in archived:
        return (
            f"来源 {source} 有年最大值，但尚未计算频率（运行 riskmap frequency run --source "
            f"{source}）。Source {source} has annual maxima but no frequency run yet."
        )
    if source is not None:
        return (
            f"来源 {source} 没有该村的频率结果。No frequency results for this village from "
            f"source {source}; sources with results: {', '.join(computed) or 'none'}."
        )
    if archived:
        return (
            "该村有年最大值，但尚未计算频率（riskmap frequency run）。The village has annual "
            "maxima but no frequency run yet."
        )
    return (
        "该村没有降雨档案年最大值，无法做频率分析。No archive annual maxima for this village: "
        "no frequency analysis."
    )


@router.get("/api/frequency/flags", summary="临界雨量频率标记 Flagged critical rainfall")
def flags(
    conn: Connection,
    who: Reader,
    source: Source = None,
    flag: Annotated[
        Literal["over_warn", "may_never_warn"] | None,
        Query(description="only this flag; default both"),
    ] = None,
) -> dict[str, Any]:
    """Villages of the caller's area whose critical rainfall the frequency analysis flagged:
    ``over_warn`` (partial-duration return period under 1 year: warned more than once a year
    on average) or ``may_never_warn`` (annual-maximum return period over 50 years). One item
    per village, duration and threshold (``prepare`` 准备转移, ``immediate`` 立即转移)."""
    rows = SQL.rows(
        conn, "frequency_flags.sql", {"source": source, "flag": flag, "area": scope(who)}
    )
    items = [
        r
        | {
            "return_period_years": _num(r.pop("t_am"), 2),
            "return_period_pds_years": _num(r.pop("t_pds"), 3),
        }
        for r in rows
    ]
    return {"source": source, "count": len(items), "method": METHOD, "items": items}
