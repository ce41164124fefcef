"""Rainfall frequency for planners: how rare a storm is at each village, and whether its
critical rainfall (山洪临界雨量) fits the village's climate — what ``riskmap frequency run``
stored (:mod:`riskmap.geo.frequency`), one import away."""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import pandas as pd
import psycopg

from riskmap.geo.frequency.fit import RETURN_PERIODS
from riskmap.geo.planner.data import CrsLike, _check_crs, _codes, _frame, _geoframe


def frequency_sources(conn: psycopg.Connection) -> pd.DataFrame:
    """Archive sources with annual maxima: villages, years, when frequencies were computed
    (NaT: not yet; run ``riskmap frequency run --source LABEL``)."""
    frame = _frame(conn, "frequency_sources.sql")
    frame["computed_at"] = pd.to_datetime(frame["computed_at"], utc=True)
    return frame


def annual_maxima(
    conn: psycopg.Connection,
    source: str | None = None,
    villages: str | Sequence[str] | None = None,
) -> pd.DataFrame:
    """Yearly maxima of 1–24 h rainfall per village (mm) from the archive; ``complete`` says
    whether the year counted in the fit."""
    return _frame(conn, "annual_maxima.sql", {"source": source, "codes": _codes(villages)})


def frequency(
    conn: psycopg.Connection,
    source: str | None = None,
    villages: str | Sequence[str] | None = None,
    *,
    flagged: bool = False,
    crs: CrsLike | None = None,
) -> gpd.GeoDataFrame:
    """One row per source, village and duration: the fitted distribution (``gumbel`` or
    ``gev``; None with ``note`` when the record is too short), its parameters, return levels
    ``rl_<T>_mm`` with ``rl_<T>_lower``/``_upper`` (the stored confidence interval) for T = 2 …
    100 years, and the village's critical rainfall with its return periods: ``*_t_am``
    (annual-maximum sense, ≥ 1 year), ``*_t_pds`` (partial-duration sense, Langbein; < 1 =
    more than once a year), ``*_years_exceeded`` (counted in the archive) and ``*_flag``
    (``over_warn`` / ``may_never_warn``).

    Parameters
    ----------
    source : archive label (e.g. ``"demo-synthetic-10y"``); None = every source.
    villages : a village code or codes; None = every village.
    flagged : only rows where either threshold is flagged.
    crs : reproject the village outlines (None keeps EPSG:4326).
    """
    target = _check_crs(crs)
    params = {"source": source, "codes": _codes(villages), "flagged": bool(flagged)}
    frame = _frame(conn, "frequency.sql", params)
    levels = frame.pop("return_levels")
    for period in RETURN_PERIODS:
        for key, col in (("mm", "mm"), ("lower", "lower"), ("upper", "upper")):
            frame[f"rl_{period}_{col}"] = [_pick(ls, period, key) for ls in levels]
    return _geoframe(frame, target)


def _pick(levels: list[dict] | None, period: int, key: str) -> float:
    for level in levels or ():
        if level["period"] == period and level[key] is not None:
            return float(level[key])
    return float("nan")
