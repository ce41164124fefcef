"""GRIB rain messages → per-period amounts in mm on each grid, ready for the rain-grid feed.

Messages are grouped by grid (a file may hold several grid definitions: each becomes a grid
dataset of its own), run time, parameter and kind. Within a group:

* amounts accumulated from the run start (step 0-6, 0-12, …) become per-step amounts, the
  difference of consecutive steps (6-12 = acc(12) − acc(6)); the first one is its own amount;
  an amount over another range (e.g. 6-12 already) is taken as it is;
* averaged rates become amounts: rate × period (kg m-2 s-1 × 3600 s per hour = mm);
* units become mm: m × 1000, kg m-2 = mm.

Differences of packed values can come out a little below zero where it did not rain; those
within 0.1 mm are set to 0, larger negatives are left for the feed to count as invalid cells.
A period given twice in a group keeps its first message; the second is a problem.
A forecast run's periods are forecasts (qpf) issued at the run time; an analysis
(``dataType`` an, or generating process 0) gives analyses (qpe).

One period, one rain: when a file gives the same period of the same run in several parameters
(a full GFS file has APCP, PRATE and CPRAT), villages get total precipitation (``tp``) before a
total rate (``prate``, ``tprate``) before convective precipitation (``cpr``, ``cprat``, only the
convective part of the rain); the others are problems, not loaded. Without this the last one
read would replace the others in the villages' rain.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from pathlib import Path

from riskmap.geo.grids.units import to_mm_factor
from riskmap.ingest.batch import FeedReadError, Problem
from riskmap.ingest.feeds.grib.messages import RainMessage, scan
from riskmap.ingest.feeds.grids.cf_write import CfGrid, CfPeriod

NOISE_MM = 0.1
RANK = {"tp": 0, "prate": 1, "tprate": 1, "cpr": 2, "cprat": 2}  # which rain a period keeps


def read_grib(path: Path) -> tuple[list[CfGrid], list[Problem]]:
    """The rain grids of a GRIB file (one per grid, run and parameter) and what was left out."""
    messages, problems = scan(path)
    if not messages:
        reasons = "; ".join(str(p) for p in problems)
        raise FeedReadError(f"{path.name}: no rainfall message to read ({reasons})")
    groups: dict[tuple, list[RainMessage]] = defaultdict(list)
    for m in messages:
        groups[(m.grid_key(), m.run, m.short_name, m.kind, m.analysis)].append(m)
    grids = []
    kept: dict[tuple, str] = {}  # (run, analysis, start, end) → the parameter giving it
    for key in sorted(groups, key=lambda k: RANK[k[2]]):
        group = groups[key]
        periods = _one_rain_per_period(_periods(group, problems), group[0], kept, problems)
        if not periods:
            continue
        first = group[0]
        grids.append(
            CfGrid(
                first.short_name,
                f"{first.name} ({first.units}) as mm per period, from GRIB",
                first.lat,
                first.lon,
                None if first.analysis else first.run,
                periods,
            )
        )
    if not grids:
        raise FeedReadError(f"{path.name}: no rainfall period to read")
    return grids, problems


def _periods(group: list[RainMessage], problems: list[Problem]) -> list[CfPeriod]:
    """Per-step amounts (mm) of one group, in order of their end."""
    out: list[CfPeriod] = []
    seen: set[tuple[float, float]] = set()
    previous: RainMessage | None = None  # the latest accumulation from the run start
    for m in sorted(group, key=lambda m: (m.end_h, m.start_h, m.number)):
        seconds = (m.end_h - m.start_h) * 3600
        mm = m.values * to_mm_factor(m.units, seconds)
        start_h, label = m.start_h, m.label
        if m.kind == "amount" and m.start_h == 0 and previous is not None:
            before = previous.values * to_mm_factor(previous.units, previous.end_h * 3600)
            mm = mm - before
            mm[(mm < 0) & (mm > -NOISE_MM)] = 0.0
            start_h = previous.end_h
            label = f"{label} minus message {previous.number}"
        if m.kind == "amount" and m.start_h == 0:
            previous = m
        if (start_h, m.end_h) in seen:
            problems.append(Problem(m.label, "stepRange", "a period already given by an earlier"
                                    " message of the same run; not loaded"))  # fmt: skip
            continue
        seen.add((start_h, m.end_h))
        out.append(
            CfPeriod(
                label,
                m.run + timedelta(hours=start_h),
                m.run + timedelta(hours=m.end_h),
                mm,
            )
        )
    return sorted(out, key=lambda p: (p.end, p.start))


def _one_rain_per_period(
    periods: list[CfPeriod], first: RainMessage, kept: dict[tuple, str], problems: list[Problem]
) -> list[CfPeriod]:
    """The periods no better-ranked parameter of the file already gives (see the module doc)."""
    out = []
    for p in periods:
        key = (first.run, first.analysis, p.start, p.end)
        if key in kept and kept[key] != first.short_name:
            problems.append(Problem(p.label, "shortName", f"{first.short_name}: the same period is"
                                    f" given by {kept[key]} in this file; not loaded"))  # fmt: skip
            continue
        kept[key] = first.short_name
        out.append(p)
    return out
