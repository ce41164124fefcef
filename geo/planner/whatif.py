"""What-if: which warnings a hypothetical rainfall would fire, through the real rules engine.

"80 mm in 3 hours over township X" becomes per-village rain (:func:`uniform`, or a rain grid
averaged over the villages). :func:`dry_run` opens a transaction, replaces those villages'
observed rain of the last ``duration_h`` hours before ``at`` by the hypothetical amount (hourly
analyses, as the grid ingest stores them: migration 0022), calls
:func:`riskmap.geo.rules.run_rules` — the engine the service runs, no copy of it — and rolls
the transaction back: nothing is written, no warning, no outbox row, no rain. The lifecycle
(:mod:`riskmap.geo.warnings.cycle`) is not called: the result is the proposals, i.e. what would
fire, with the numbers that fired it for every village. The total is spread evenly over the
hours, so window sums can differ from it by float rounding: an amount exactly equal to a
threshold is a tie either way. Other villages keep their observed rain,
and forecasts stay as stored (the forecast rules add them to the hypothetical rain).
:func:`impact` hands the villages to :func:`riskmap.geo.impact.impact_summary`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
import shapely
import xarray as xr

from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.errors import InvalidArgumentError
from riskmap.geo.impact import ImpactHazard, impact_summary
from riskmap.geo.rules import run_rules
from riskmap.geo.warnings.proposal import Proposal

SQL = SqlFiles("riskmap.geo.planner.sql")
MAX_HOURS = 72
MAX_MM = 2000.0  # village_rain's own bound on one period


class WhatIfError(InvalidArgumentError):
    """A what-if scenario cannot be run as given; the message says what to change."""


@dataclass(frozen=True)
class DryRun:
    """What the rules would propose for the hypothetical rain (nothing was written).

    Attributes
    ----------
    at : the evaluation time.
    duration_h : the hours over which the hypothetical rain fell, ending at ``at``.
    rain : the hypothetical rain (mm over ``duration_h``) by village code.
    proposals : the engine's proposals, one per rule and level that fired.
    """

    at: datetime
    duration_h: int
    rain: pd.Series
    proposals: tuple[Proposal, ...]

    @property
    def summary(self) -> pd.DataFrame:
        """One row per proposal: rule, hazard, colour, action, review, villages, headline."""
        rows = [
            {
                "rule_id": p.rule_id,
                "hazard": p.hazard,
                "colour": p.colour,
                "action": p.action,
                "review": p.review,
                "villages": len(p.village_codes),
                "headline_zh": p.headline_zh,
                "headline_en": p.headline_en,
            }
            for p in self.proposals
        ]
        return pd.DataFrame(rows, columns=_SUMMARY_COLUMNS)

    @property
    def table(self) -> pd.DataFrame:
        """One row per proposal and village, with the evidence numbers as columns."""
        rows = [
            {
                "rule_id": p.rule_id,
                "hazard": p.hazard,
                "colour": p.colour,
                "action": p.action,
                "village_code": code,
                **p.evidence.get(code, {}),
            }
            for p in self.proposals
            for code in p.village_codes
        ]
        return pd.DataFrame(rows, columns=None if rows else _TABLE_COLUMNS)

    def villages(
        self, *, action: str | None = None, colour: str | None = None, hazard: str | None = None
    ) -> list[str]:
        """Codes of the villages of the proposals matching every filter given (sorted)."""
        return sorted(
            {
                code
                for p in self.proposals
                if (action is None or p.action == action)
                and (colour is None or p.colour == colour)
                and (hazard is None or p.hazard == hazard)
                for code in p.village_codes
            }
        )


_SUMMARY_COLUMNS = [
    "rule_id", "hazard", "colour", "action", "review", "villages", "headline_zh", "headline_en",
]  # fmt: skip
_TABLE_COLUMNS = ["rule_id", "hazard", "colour", "action", "village_code"]


def uniform(
    conn: psycopg.Connection, township_code: str, *, mm: float, hours: int = 3
) -> pd.Series:
    """The same rain over every village of an administrative unit.

    Parameters
    ----------
    conn
        Connection to the riskmap database (only read).
    township_code
        A township's 9-digit code (any unit's code works: a county's takes all its villages).
    mm
        Rain in millimetres over ``hours``.
    hours
        The duration; kept in ``Series.attrs["hours"]`` for :func:`dry_run`.

    Returns
    -------
    pandas.Series
        ``mm`` for each village code (index ``village_code``), named ``rain_mm``.
    """
    _check_amounts(np.array([mm], dtype=float))
    _check_hours(hours)
    exists, codes = SQL.one(
        conn, "whatif_area_villages.sql", {"code": str(township_code)}, shape="tuple"
    )
    if not exists:
        raise WhatIfError(f"no administrative unit has the code {township_code!r}")
    if not codes:
        raise WhatIfError(f"unit {township_code} has no villages")
    out = pd.Series(float(mm), index=pd.Index(codes, name="village_code"), name="rain_mm")
    out.attrs["hours"] = hours
    return out


def dry_run(
    conn: psycopg.Connection,
    at: datetime,
    *,
    village_rain: Mapping[str, float] | pd.Series | None = None,
    duration_h: int | None = None,
    rain_field: xr.DataArray | None = None,
    rule_dirs: Iterable[Path] = (),
    include_builtin: bool = True,
) -> DryRun:
    """Run the rules at ``at`` as if the hypothetical rain had fallen, and write nothing.

    Parameters
    ----------
    conn
        Connection to the riskmap database. Autocommit (as ``planner.connect`` opens it) or
        not; the dry run is one transaction (a savepoint inside an open one), always rolled back.
    at
        Evaluation time, timezone-aware; the hypothetical rain ends there.
    village_rain
        Rain in mm over ``duration_h`` per village code (e.g. from :func:`uniform`).
    duration_h
        Hours the rain fell over, ending at ``at`` (spread evenly over them). Default: the
        series' ``attrs["hours"]`` (set by :func:`uniform`), else 3.
    rain_field
        Instead of ``village_rain``: a 2-D ``(y, x)`` grid of mm over ``duration_h`` carrying
        its CRS and geotransform (as :func:`riskmap.geo.planner.export.to_cog` reads them);
        each village gets the area-weighted mean of the cells it covers.
    rule_dirs
        Site rule folders, as for ``run_rules``.
    include_builtin
        Evaluate the built-in rules too (default).

    Returns
    -------
    DryRun
        The proposals, with ``summary`` and ``table`` (per village, with evidence) frames.

    Raises
    ------
    WhatIfError
        A naive ``at``, neither or both rain inputs, unknown village codes, negative or
        missing amounts, a duration outside 1–72 h or disagreeing with the series.
    """
    if not isinstance(at, datetime) or at.tzinfo is None:
        raise WhatIfError("at must be a timezone-aware datetime (UTC or Beijing time)")
    if (village_rain is None) == (rain_field is None):
        raise WhatIfError("give exactly one of village_rain= and rain_field=")
    if village_rain is not None:
        rain = _village_series(conn, village_rain)
        hours = _duration(duration_h, rain.attrs.get("hours"))
    else:
        hours = _duration(duration_h, None)
        rain = _field_rain(conn, rain_field)
    proposals = _run(conn, at, rain, hours, list(rule_dirs), include_builtin)
    rain.attrs["hours"] = hours
    return DryRun(at=at, duration_h=hours, rain=rain, proposals=tuple(proposals))


def impact(
    conn: psycopg.Connection,
    village_codes: Iterable[str] | DryRun,
    *,
    hazard: ImpactHazard = "flash_flood",
    action: str | None = "evacuate_now",
    **options: object,
) -> dict:
    """People, households, shelters and teams for the villages: ``impact_summary``'s report.

    Parameters
    ----------
    conn
        Connection to the riskmap database (only read).
    village_codes
        Village codes, or a :class:`DryRun` (its villages of ``hazard`` and ``action``).
    hazard
        One of :data:`riskmap.geo.impact.IMPACT_HAZARDS`.
    action
        With a DryRun: only villages of proposals with this action (None: every level).
    **options
        Passed on to :func:`riskmap.geo.impact.impact_summary` (``k``, ``shelter_reach_km`` …).
    """
    if isinstance(village_codes, DryRun):
        codes = village_codes.villages(action=action, hazard=hazard)
    elif isinstance(village_codes, str):
        raise WhatIfError("village_codes must be a list of codes, not one string")
    else:
        codes = sorted(set(village_codes))
    if not codes:
        raise WhatIfError("no villages: nothing would fire, or the list is empty")
    return impact_summary(conn, codes, hazard=hazard, **options)


# -- helpers -----------------------------------------------------------------------------------


def _run(
    conn: psycopg.Connection,
    at: datetime,
    rain: pd.Series,
    hours: int,
    rule_dirs: list[Path],
    include_builtin: bool,
) -> list[Proposal]:
    """The hypothetical rain written, the real engine run, all rolled back."""
    params = {
        "at": at,
        "first": at - timedelta(hours=hours),
        "hours": hours,
        "codes": [str(c) for c in rain.index],
        "mm": [float(v) for v in rain.to_numpy()],
    }
    with conn.transaction(force_rollback=True):
        conn.execute(SQL("whatif_explode.sql"), params)
        conn.execute(SQL("whatif_clear.sql"), params)
        conn.execute(SQL("whatif_rain.sql"), params)
        return run_rules(conn, at, rule_dirs, include_builtin=include_builtin)


def _check_hours(hours: object) -> int:
    if isinstance(hours, bool) or not isinstance(hours, int | np.integer):
        raise WhatIfError(f"duration_h must be a whole number of hours, not {hours!r}")
    if not 1 <= hours <= MAX_HOURS:
        raise WhatIfError(f"duration_h must be from 1 to {MAX_HOURS} hours, not {hours}")
    return int(hours)


def _duration(given: int | None, from_series: object) -> int:
    if given is not None and from_series is not None and given != from_series:
        raise WhatIfError(f"duration_h={given} but the rain series is for {from_series} hours")
    return _check_hours(given if given is not None else from_series or 3)


def _check_amounts(values: np.ndarray) -> None:
    if not np.isfinite(values).all():
        raise WhatIfError("rain amounts must be numbers (no NaN or infinity)")
    if (values < 0).any() or (values >= MAX_MM).any():
        raise WhatIfError(f"rain amounts must be from 0 to under {MAX_MM:.0f} mm")


def _village_series(conn: psycopg.Connection, rain: Mapping[str, float] | pd.Series) -> pd.Series:
    if isinstance(rain, pd.Series):
        series = rain.copy()
    elif isinstance(rain, Mapping):
        series = pd.Series(dict(rain), dtype=float)
    else:
        raise WhatIfError(f"village_rain must be a mapping or Series, not {type(rain).__name__}")
    if series.empty:
        raise WhatIfError("village_rain is empty")
    series.index = pd.Index([str(c) for c in series.index], name="village_code")
    if series.index.has_duplicates:
        raise WhatIfError("village_rain names a village twice")
    try:
        values = series.to_numpy(dtype=float)
    except (TypeError, ValueError) as exc:
        raise WhatIfError("village_rain values must be numbers (mm)") from exc
    _check_amounts(values)
    known = {r[0] for r in SQL.rows(conn, "whatif_known.sql", {"codes": list(series.index)},
                                    shape="tuple")}  # fmt: skip
    unknown = sorted(set(series.index) - known)
    if unknown:
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        raise WhatIfError(f"unknown village codes: {', '.join(unknown[:5])}{more}")
    out = pd.Series(values, index=series.index, name="rain_mm")
    out.attrs = dict(series.attrs)
    return out


def _field_rain(conn: psycopg.Connection, field: xr.DataArray) -> pd.Series:
    """Area-weighted mean of the grid over each village it covers (riskmap.geo.zonal)."""
    from pyproj import Transformer

    from riskmap.geo import zonal
    from riskmap.geo.planner.export import ExportError, _grid

    if not isinstance(field, xr.DataArray):
        raise WhatIfError(f"rain_field must be an xarray.DataArray, not {type(field).__name__}")
    if field.ndim != 2:
        raise WhatIfError(f"rain_field must be 2-D (y, x), not {field.ndim}-D")
    try:
        values, crs, transform, _ = _grid(field, None, None)
    except ExportError as exc:  # no CRS, no geotransform, not numeric
        raise WhatIfError(f"rain_field: {exc}") from exc
    grid = values[0].astype(float)
    height, width = grid.shape
    corners = [transform @ (c, r) for c in (0, width) for r in (0, height)]
    xs, ys = zip(*corners, strict=True)
    to_ll = Transformer.from_crs(crs, 4326, always_xy=True)
    west, south, east, north = to_ll.transform_bounds(min(xs), min(ys), max(xs), max(ys))
    box = {"west": west, "south": south, "east": east, "north": north}
    rows = SQL.rows(conn, "whatif_box_villages.sql", box, shape="tuple")
    if not rows:
        raise WhatIfError("rain_field covers no village")
    weights = zonal.ZonalWeights.build(
        shapely.from_wkb([bytes(r[1]) for r in rows]), [r[0] for r in rows], grid.shape,
        transform, crs,
    )  # fmt: skip
    mean = weights.mean(grid)
    keep = ~np.isnan(mean)
    if not keep.any():
        raise WhatIfError("rain_field has no value over any village")
    rain = pd.Series(mean[keep], index=pd.Index(weights.codes[keep].astype(str)))
    return _village_series(conn, rain.clip(lower=0.0))
