"""The rain-grid feed: a grid file → catalogue rows, quarantined periods, then village rain.

What a grid is and how it is read belongs to :mod:`riskmap.geo.grids`; this module is the
pipeline's side of it: a reader's refusal becomes the file's rejection, periods in unknown units
or with no valid cell become problems, and the batch's after-load step copies the file into the
data store and writes the villages' rain in the ingest's transaction. A file may hold several
grid definitions (a GRIB file with messages on two grids): each is a part with its own
``grid_definition`` row and weights, loaded in the one transaction.
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
from riskmap.geo.grids.model import GridFile, GridReadError, footprint
from riskmap.geo.grids.netcdf import read_netcdf
from riskmap.geo.grids.village_rain import village_rain_for
from riskmap.ingest.batch import Batch, Context, FeedReadError, Problem, TableLoad
from riskmap.ingest.feeds.grids.converted import converted_parts
from riskmap.ingest.feeds.grids.parts import GridPart, grid_part
from riskmap.ingest.feeds.grids.sniff import (
    GRIB_MAGIC,
    NETCDF_MAGIC,
    TIFF_MAGIC,
    not_supported,
    sniff_netcdf,
    sniff_tiff,
)
from riskmap.ingest.feeds.micaps.header import micaps_type

KIND = "rain-grid"


class RainGridFeed:
    """Rainfall grids (QPE and QPF) in CF-NetCDF, GeoTIFF, MICAPS type 4 or GRIB 1/2."""

    kind = KIND
    description = (
        "rainfall grids (QPE analyses, QPF forecasts): CF-NetCDF, GeoTIFF, MICAPS 4, GRIB 1/2"
    )

    def sniff(self, path: Path, head: bytes) -> bool:
        """NetCDF with a rainfall variable (not a station collection), a tagged GeoTIFF, GRIB,
        or a MICAPS type 4 grid (``diamond 4``)."""
        if head.startswith(GRIB_MAGIC) or micaps_type(head) == 4:
            return True  # a GRIB/MICAPS grid that is not rain is refused by parse, saying why
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
        if head.startswith(GRIB_MAGIC) or micaps_type(head) == 4:
            parts, problems = converted_parts(path, head, ctx)
            return _batch(path, parts, problems, ctx)
        unsupported = not_supported(head)
        if unsupported:
            raise FeedReadError(f"{path.name}: format not supported: {unsupported}")
        grid = _read(path, head)
        sha = file_sha256(path)
        part = grid_part(grid, sha, path.name)
        first = min(s.period.valid_start for s in part.steps)
        part.stored = (
            ctx.data_dir / "grids" / first.strftime("%Y/%m/%d") / f"{sha[:16]}-{path.name}"
        )
        part.source = path
        return _batch(path, [part], part.problems, ctx)


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


def _batch(path: Path, parts: list[GridPart], problems: list[Problem], ctx: Context) -> Batch:
    """Catalogue rows of every grid definition of the file, then village rain after loading."""
    defs, files, events = [], [], []
    for part in parts:
        row, rows, event = _catalogue(path, part)
        defs.append(row)
        files.extend(rows)
        events.append(event)
    steps = [s for part in parts for s in part.steps]
    event = events[0] if len(events) == 1 else {
        "grid_definitions": [e["grid_definition"] for e in events],
        "products": sorted({p for e in events for p in e["products"]}),
        "periods": len(steps),
        "invalid_cells": int(sum(e["invalid_cells"] for e in events)),
    }  # fmt: skip
    batch = Batch(
        KIND,
        [
            TableLoad("grid_definition", pd.DataFrame(defs).drop_duplicates("id"), key=("id",)),
            TableLoad("grid_file", pd.DataFrame(files), key=("id",)),
        ],
        problems,
        valid_from=min(s.period.valid_start for s in steps),
        valid_to=max(s.period.valid_end for s in steps),
        event=event,
    )
    batch.after_load = _after_load(parts, ctx.data_dir / "cache", events, event)
    return batch


def _catalogue(path: Path, part: GridPart) -> tuple[dict, list[dict], dict]:
    """The grid_definition row, the grid_file rows and the event fields of one grid part."""
    from riskmap.geo import zonal

    grid, steps = part.grid, part.steps
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
    gdef = {
        "id": def_id,
        "crs": grid.crs.to_wkt(),
        "epsg": epsg,
        "transform": [float(v) for v in tuple(grid.transform)[:6]],
        "width": grid.shape[1],
        "height": grid.shape[0],
        "footprint": extent,
    }
    files = [
        {
            "_record": s.period.label,
            "id": s.grid_file_id,
            "path": str(part.stored),
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
            "sha256": part.sha,
            "valid_cells": s.valid,
            "invalid_cells": s.invalid,
            "max_mm": s.max_mm,
        }
        for s in steps
    ]
    event = {
        "grid_definition": def_id,
        "products": sorted({s.period.product for s in steps}),
        "periods": len(steps),
        "invalid_cells": int(sum(s.invalid for s in steps)),
    }
    return gdef, files, event


def _after_load(parts: list[GridPart], cache_dir: Path, events: list[dict], event: dict):
    def run(conn: psycopg.Connection, ingest_id: int) -> dict[str, int]:
        written = 0
        for part, own in zip(parts, events, strict=True):
            if part.source is not None:
                store(part.source, part.stored)
            written += village_rain_for(conn, part.grid, part.steps, own["grid_definition"],
                                        cache_dir, ingest_id, own)  # fmt: skip
        if len(parts) > 1:
            event["villages"] = sum(e.get("villages", 0) for e in events)
        return {"village_rain": written}

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
