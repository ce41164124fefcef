"""Grids read from MICAPS or GRIB, written as the CF-NetCDF the rain-grid path already reads.

MICAPS type 4 and GRIB files are turned into one small CF-NetCDF per grid definition (amounts
in mm, explicit time bounds, a ``forecast_reference_time`` for forecasts) and that file goes
through :func:`riskmap.geo.grids.netcdf.read_netcdf` and the feed's catalogue like any NetCDF.
So the villages' rain, the tiles, the planner and the refresh after a village reload all read
one file format from the data store, with no MICAPS or eccodes code in them, and the
per-step amounts of a GRIB run (differences of accumulations) are worked out once, here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class CfPeriod:
    """One accumulation period: its amounts (mm, NaN = no data) and where it came from."""

    label: str  # "message 2", "record 1": what quarantine problems and catalogue rows name
    start: datetime
    end: datetime
    values: np.ndarray  # 2-D, rows in the order of ``CfGrid.lat``, columns of ``CfGrid.lon``


@dataclass
class CfGrid:
    """A regular lat/lon grid of one product (analysis or one forecast run) and its periods."""

    variable: str
    long_name: str
    lat: np.ndarray  # cell centres, ascending or descending as the source had them
    lon: np.ndarray
    issued: datetime | None  # forecast run time (qpf); None for an analysis (qpe)
    periods: list[CfPeriod] = field(default_factory=list)
    source: str = ""  # file name and SHA-256 of the original, kept as a global attribute


def _seconds(times: list[datetime]) -> np.ndarray:
    return np.array([(t - EPOCH).total_seconds() for t in times], dtype=np.float64)


def write_cf_netcdf(grid: CfGrid, out: Path) -> Path:
    """Write ``grid`` to ``out`` whole or not at all (temporary name, then rename)."""
    import netCDF4

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.part")
    units = "seconds since 1970-01-01 00:00:00"
    try:
        with netCDF4.Dataset(tmp, "w", format="NETCDF4") as nc:
            nc.Conventions = "CF-1.8"
            nc.source = grid.source
            nc.history = "converted by riskmap ingest (rain-grid) from the source named here"
            nc.createDimension("time", len(grid.periods))
            nc.createDimension("nv", 2)
            nc.createDimension("lat", grid.lat.size)
            nc.createDimension("lon", grid.lon.size)
            lat = nc.createVariable("lat", "f8", ("lat",))
            lat[:] = grid.lat
            lat.standard_name, lat.units = "latitude", "degrees_north"
            lon = nc.createVariable("lon", "f8", ("lon",))
            lon[:] = grid.lon
            lon.standard_name, lon.units = "longitude", "degrees_east"
            time = nc.createVariable("time", "f8", ("time",))
            time[:] = _seconds([p.end for p in grid.periods])
            time.standard_name, time.units, time.calendar = "time", units, "standard"
            time.bounds = "time_bnds"
            bnds = nc.createVariable("time_bnds", "f8", ("time", "nv"))
            bnds[:] = np.column_stack(
                [_seconds([p.start for p in grid.periods]), _seconds([p.end for p in grid.periods])]
            )
            if grid.issued is not None:
                ref = nc.createVariable("forecast_reference_time", "f8")
                ref.assignValue(_seconds([grid.issued])[0])
                ref.standard_name, ref.units = "forecast_reference_time", units
            var = nc.createVariable(
                grid.variable, "f8", ("time", "lat", "lon"), fill_value=-9999.0, zlib=True
            )
            var.standard_name, var.units, var.long_name = (
                "precipitation_amount",
                "mm",
                grid.long_name,
            )
            for i, p in enumerate(grid.periods):
                var[i, :, :] = np.ma.masked_invalid(p.values)
        tmp.replace(out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out
