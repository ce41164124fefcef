"""The rain-grid feed: a grid file → catalogue rows, quarantined periods, then village rain.

What a grid is and how it is read belongs to :mod:`riskmap.geo.grids`; this module is the
pipeline's side of it: a reader's refusal becomes the file's rejection, periods in unknown units
or with no valid cell become problems, and the batch's after-load step copies the file into the
data store and writes the villages' rain in the ingest's transaction.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
import shapely

from riskmap.geo.filehash import file_sha256
from riskmap.geo.grids.geotiff import read_geotiff
from riskmap.geo.grids.model import GridFile, GridReadError, Step, footprint
from riskmap.geo.grids.netcdf import read_netcdf
from riskmap.geo.grids.units import to_mm, to_mm_factor
from riskmap.geo.grids.village_rain import village_rain_for
from riskmap.geo.vocabulary import RAIN_MAX_MM
from riskmap.ingest.batch import Batch, Context, FeedReadError, Problem, TableLoad
from riskmap.ingest.feeds.grids.sniff import (
    NETCDF_MAGIC,
    TIFF_MAGIC,
    not_supported,
    sniff_netcdf,
    sniff_tiff,
)

KIND = "rain-grid"


class RainGridFeed:
    """Rainfall grids (QPE and QPF) in CF-NetCDF or GeoTIFF."""

    kind = KIND
    description = "rainfall grids (QPE analyses, QPF forecasts): CF-NetCDF, GeoTIFF"

    def sniff(self, path: Path, head: bytes) -> bool:
        """NetCDF with a rainfall variable (not a station collection) or a tagged GeoTIFF."""
        try:
            if head.startswith(NETCDF_MAGIC):
                return sniff_netcdf(path)
            if head[:4] in TIFF_MAGIC:
                return sniff_tiff(path)
        except (OSError, RuntimeError, ValueError, KeyError):  # unreadable: not a grid of ours
            return False
        return False

    def parse(self, path: Path, ctx: Context) -> Batch:
        """Read every period, convert to mm, and leave the village work to after_load."""
        with path.open("rb") as fh:
            head = fh.read(64)
        unsupported = not_supported(head)
        if unsupported:
            raise FeedReadError(f"{path.name}: format not supported: {unsupported}")
        grid = _read(path, head)
        from riskmap.geo import zonal  # heavy (scipy); not needed to sniff

        sha = file_sha256(path)
        try:
            zonal.check_north_up(grid.transform)
        except ValueError as exc:
            raise FeedReadError(f"{path.name}: {exc}") from exc
        steps, problems = _convert(grid, sha, path.name)
        problems = [Problem(p.record, p.field, p.reason) for p in grid.problems] + problems
        if not steps:
            reasons = "; ".join(str(p) for p in problems) or "no period"
            raise FeedReadError(f"{path.name}: no valid grid cell in any period ({reasons})")
        return _batch(path, ctx, grid, steps, problems, sha)


def _read(path: Path, head: bytes) -> GridFile:
    """The grid of a NetCDF or GeoTIFF file; a reader's refusal rejects the file, same message."""
    try:
        if head.startswith(NETCDF_MAGIC):
            return read_netcdf(path)
        if head[:4] in TIFF_MAGIC:
            return read_geotiff(path)
    except GridReadError as exc:
        raise FeedReadError(str(exc)) from exc
    raise FeedReadError(f"{path.name}: format not supported (neither NetCDF nor GeoTIFF)")


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


def _batch(
    path: Path,
    ctx: Context,
    grid: GridFile,
    steps: list[Step],
    problems: list[Problem],
    sha: str,
) -> Batch:
    from riskmap.geo import zonal

    def_id = zonal.grid_definition_id(grid.crs, grid.transform, grid.shape)
    epsg = grid.crs.to_epsg(min_confidence=90)
    try:
        extent = footprint(grid.crs, grid.transform, grid.shape)
    except (shapely.errors.GEOSException, ValueError):  # corners overflowed to inf / NaN
        extent = shapely.Polygon()
    x0, _y0, x1, _y1 = extent.bounds if not extent.is_empty else (np.nan,) * 4
    if not (-360 <= x0 <= x1 <= 360):  # empty, not finite, or far beyond any longitude
        raise FeedReadError(
            f"{path.name}: the grid is not on Earth (transform {tuple(grid.transform)[:6]} in"
            f" {grid.crs.to_string()}); wrong coordinates or CRS?"
        )
    gdef = pd.DataFrame(
        [
            {
                "id": def_id,
                "crs": grid.crs.to_wkt(),
                "epsg": epsg,
                "transform": [float(v) for v in tuple(grid.transform)[:6]],
                "width": grid.shape[1],
                "height": grid.shape[0],
                "footprint": extent,
            }
        ]
    )
    first = min(s.period.valid_start for s in steps)
    stored = ctx.data_dir / "grids" / first.strftime("%Y/%m/%d") / f"{sha[:16]}-{path.name}"
    files = pd.DataFrame(
        [
            {
                "_record": s.period.label,
                "id": s.grid_file_id,
                "path": str(stored),
                "product": s.period.product,
                "variable": grid.variable,
                "step": s.period.index,
                "units": grid.units,
                "to_mm": s.factor,
                "valid_start": s.period.valid_start,
                "valid_end": s.period.valid_end,
                "issued_at": s.period.issued_at,
                "lead_hours": s.period.lead_hours,
                "grid_definition": def_id,
                "sha256": sha,
                "valid_cells": s.valid,
                "invalid_cells": s.invalid,
                "max_mm": s.max_mm,
            }
            for s in steps
        ]
    )
    event = {
        "grid_definition": def_id,
        "products": sorted({s.period.product for s in steps}),
        "periods": len(steps),
        "invalid_cells": int(sum(s.invalid for s in steps)),
    }
    batch = Batch(
        KIND,
        [
            TableLoad("grid_definition", gdef, key=("id",)),
            TableLoad("grid_file", files, key=("id",)),
        ],
        problems,
        valid_from=first,
        valid_to=max(s.period.valid_end for s in steps),
        event=event,
    )
    cache_dir = ctx.data_dir / "cache"
    batch.after_load = _after_load(path, stored, grid, steps, def_id, cache_dir, event)
    return batch


def _after_load(
    path: Path,
    stored: Path,
    grid: GridFile,
    steps: list[Step],
    def_id: str,
    cache_dir: Path,
    event: dict,
):
    def run(conn: psycopg.Connection, ingest_id: int) -> dict[str, int]:
        store(path, stored)
        return {"village_rain": village_rain_for(conn, grid, steps, def_id, cache_dir, ingest_id,
                                                 event)}  # fmt: skip

    return run


def store(path: Path, stored: Path) -> None:
    """Copy the file into the data store whole or not at all: written under a temporary name
    beside it, flushed, then renamed into place. A full disk or a killed process never leaves a
    partial grid under the name the catalogue gives; a copy already there is kept only when it
    is whole (same size: its name carries the content's SHA-256)."""
    stored.parent.mkdir(parents=True, exist_ok=True)
    if stored.exists() and stored.stat().st_size == path.stat().st_size:
        return
    tmp = stored.with_name(f".{stored.name}.{os.getpid()}.part")
    try:
        with path.open("rb") as src, tmp.open("wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
            dst.flush()
            os.fsync(dst.fileno())
        shutil.copystat(path, tmp)
        tmp.replace(stored)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
