"""One grid definition of an ingest as the catalogue needs it: periods converted to mm.

Shared by the feed's NetCDF/GeoTIFF path and the MICAPS/GRIB conversions (:mod:`.converted`),
so every grid, whatever its source format, is checked and converted by the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from riskmap.geo.grids.model import GridFile, GridReadError, Step
from riskmap.geo.grids.units import to_mm, to_mm_factor
from riskmap.geo.vocabulary import RAIN_MAX_MM
from riskmap.ingest.batch import FeedReadError, Problem


@dataclass
class GridPart:
    """One grid definition of an ingest: its reader, periods with valid cells, and files."""

    grid: GridFile
    steps: list[Step]
    sha: str  # of the file the data store keeps (and the catalogue's rows name)
    problems: list[Problem]
    source: Path | None = None  # the file to copy into the store (None: already written there)
    stored: Path | None = None


def grid_part(grid: GridFile, sha: str, name: str) -> GridPart:
    """Check the grid is north-up, convert its periods to mm; no valid period rejects the file."""
    from riskmap.geo import zonal  # heavy (scipy); not needed to sniff

    try:
        zonal.check_north_up(grid.transform)
    except ValueError as exc:
        raise FeedReadError(f"{name}: {exc}") from exc
    steps, problems = _convert(grid, sha, name)
    problems = [Problem(p.record, p.field, p.reason) for p in grid.problems] + problems
    if not steps:
        reasons = "; ".join(str(p) for p in problems) or "no period"
        raise FeedReadError(f"{name}: no valid grid cell in any period ({reasons})")
    return GridPart(grid, steps, sha, problems)


def _convert(grid: GridFile, sha: str, name: str) -> tuple[list[Step], list[Problem]]:
    """Raw values → mm per period; invalid cells → NaN; empty periods quarantined."""
    steps, problems = [], []
    for period in grid.periods:
        seconds = (period.valid_end - period.valid_start).total_seconds()
        if seconds <= 0:
            problems.append(Problem(period.label, "valid_end", "period ends before it starts"))
            continue
        try:
            factor = to_mm_factor(grid.units, seconds)
        except ValueError as exc:
            raise FeedReadError(
                f"{name}: variable {grid.variable}: wrong units: {exc}; expected mm, kg m-2, m"
                " or a rate such as mm/h or kg m-2 s-1"
            ) from exc
        try:
            raw = grid.read(period.index)
        except GridReadError as exc:
            raise FeedReadError(str(exc)) from exc
        except Exception as exc:  # netCDF4/HDF5/GDAL raise their own types for damaged data
            raise FeedReadError(
                f"{name}: {period.label}: the values cannot be read (truncated or damaged file):"
                f" {type(exc).__name__}: {exc}"
            ) from exc
        declared = int(np.isnan(raw).sum())
        mm, bad = to_mm(raw, factor)
        if bad:
            problems.append(
                Problem(
                    period.label,
                    grid.variable,
                    f"{bad} cell(s) negative or sentinel (≥ {RAIN_MAX_MM:g} mm) set to no data",
                )
            )
        valid = int((~np.isnan(mm)).sum())
        if valid == 0:
            problems.append(Problem(period.label, grid.variable, "every cell is no data"))
            continue
        steps.append(
            Step(period, factor, valid, declared + bad, float(np.nanmax(mm)),
                  f"{sha[:20]}-{period.index}")
        )  # fmt: skip
    return steps, problems
