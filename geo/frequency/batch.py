"""The batch over every village of an archive source: fit, judge the thresholds, store.

Flags, per threshold (准备转移 prepare, 立即转移 immediate):

- ``over_warn``: the partial-duration return period (Langbein, T_pds = −1/ln F(mm)) is under
  one year — the village would be warned more than once a year on average. The annual-maximum
  return period cannot say this (it is ≥ 1 year by construction); the plain count of archive
  years whose maximum reached the threshold is stored beside it (``*_years_exceeded``), as the
  model-free check a planner can read against ``n_years``.
- ``may_never_warn``: the annual-maximum return period exceeds 50 years.

The flags come from the fit (smooth, and defined for thresholds beyond the record's range);
the count only tells in how many years, not how often within a year, a threshold was reached.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.frequency.fit import (
    BOOTSTRAP_SAMPLES,
    CI_LEVEL,
    MIN_YEARS,
    Fit,
    fit_maxima,
    threshold_period,
)
from riskmap.geo.vocabulary import NEVER_WARN_ABOVE_YEARS, OVER_WARN_BELOW_YEARS

SQL = SqlFiles("riskmap.geo.frequency.sql")


@dataclass(frozen=True)
class RunSummary:
    """What one batch stored for a source."""

    source: str
    series: int  # village × duration rows written
    fitted: int
    not_fitted: int
    over_warn: int  # rows with a threshold flagged over_warn
    may_never_warn: int


def flag(t_am: float | None, t_pds: float | None) -> str | None:
    """``over_warn`` below one year (partial-duration sense), ``may_never_warn`` above 50
    years (annual-maximum sense), else None."""
    if t_pds is not None and t_pds < OVER_WARN_BELOW_YEARS:
        return "over_warn"
    if t_am is not None and t_am > NEVER_WARN_ABOVE_YEARS:
        return "may_never_warn"
    return None


def judge_threshold(fit: Fit, maxima: Iterable[float], mm: float | None) -> dict[str, Any]:
    """Return periods, years exceeded and flag of one threshold (all None without one)."""
    if mm is None:
        return {"mm": None, "t_am": None, "t_pds": None, "years_exceeded": None, "flag": None}
    exceeded = sum(1 for x in maxima if x >= mm)
    if not fit.fitted:
        return {"mm": mm, "t_am": None, "t_pds": None, "years_exceeded": exceeded, "flag": None}
    p = threshold_period(fit, mm)
    return {
        "mm": mm,
        "t_am": p.t_am,
        "t_pds": p.t_pds,
        "years_exceeded": exceeded,
        "flag": flag(p.t_am, p.t_pds),
    }


def run_frequency(
    conn: psycopg.Connection,
    source: str,
    *,
    min_years: int = MIN_YEARS,
    ci_level: float = CI_LEVEL,
    bootstrap_samples: int = BOOTSTRAP_SAMPLES,
    seed: int = 0,
) -> RunSummary:
    """Fit every village and duration of ``source`` and replace the source's stored rows in
    one transaction (a reader sees the old run or the new one, never a mix). A source without
    annual maxima stores nothing and leaves earlier rows alone."""
    series: dict[tuple[str, int], list[tuple[int, float, bool]]] = defaultdict(list)
    for code, hours, year, mm, complete in SQL.rows(
        conn, "annual_max.sql", {"source": source}, shape="tuple"
    ):
        series[(code, hours)].append((year, mm, complete))
    if not series:
        return RunSummary(source, 0, 0, 0, 0, 0)
    thresholds = {
        (r["village_code"], r["duration_h"]): r
        for r in SQL.rows(conn, "thresholds.sql", {"source": source})
    }
    method = f"parametric bootstrap, {bootstrap_samples} samples, seed {seed}"
    rows = []
    for (code, hours), years in series.items():
        used = [(y, mm) for y, mm, complete in years if complete]
        maxima = [mm for _, mm in used]
        fit = fit_maxima(
            maxima,
            min_years=min_years,
            ci_level=ci_level,
            bootstrap_samples=bootstrap_samples,
            seed=seed,
        )
        t = thresholds.get((code, hours))
        prepare = judge_threshold(fit, maxima, t["prepare_mm"] if t else None)
        immediate = judge_threshold(fit, maxima, t["immediate_mm"] if t else None)
        rows.append(
            {
                "source": source,
                "village_code": code,
                "duration_h": hours,
                "n_years": fit.n_years,
                "first_year": min((y for y, _ in used), default=None),
                "last_year": max((y for y, _ in used), default=None),
                "distribution": fit.distribution,
                "loc": fit.loc,
                "scale": fit.scale,
                "shape": fit.shape,
                "lr_statistic": fit.lr_statistic,
                "lr_pvalue": fit.lr_pvalue,
                "return_levels": Jsonb([_level(r) for r in fit.return_levels]),
                "ci_level": ci_level,
                "ci_method": method,
                "soil_state": t["soil_state"] if t else None,
                **{f"prepare_{k}": v for k, v in prepare.items()},
                **{f"immediate_{k}": v for k, v in immediate.items()},
                "note": fit.note,
            }
        )
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(SQL("delete_source.sql"), {"source": source})
        cur.executemany(SQL("insert.sql"), rows)
    flagged = [(r["prepare_flag"], r["immediate_flag"]) for r in rows]
    return RunSummary(
        source=source,
        series=len(rows),
        fitted=sum(r["distribution"] is not None for r in rows),
        not_fitted=sum(r["distribution"] is None for r in rows),
        over_warn=sum("over_warn" in f for f in flagged),
        may_never_warn=sum("may_never_warn" in f for f in flagged),
    )


def _level(r) -> dict[str, Any]:
    """A return level as stored (NaN bounds, when no bootstrap ran, become null)."""

    def num(x: float) -> float | None:
        return None if math.isnan(x) else round(x, 3)

    return {"period": r.period, "mm": num(r.mm), "lower": num(r.lower), "upper": num(r.upper)}
