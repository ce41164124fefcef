"""The storm's rainfall grids as CF-NetCDF: hourly analyses (QPE) and a six-hour forecast (QPF).

Gridded rain is what the meteorological bureau sends each hour; the files follow CF-1.8
(precipitation amount with time bounds, a forecast with its reference time) like the real feed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import shapely
import xarray as xr

from riskmap.geo.demo.scenario.storm import Storm, stamp

CELL_DEG = 0.01


def _grid(bounds: tuple[float, float, float, float]) -> tuple[np.ndarray, np.ndarray]:
    west, south, east, north = bounds
    lon = np.round(np.arange(west - 0.05, east + 0.05, CELL_DEG) + CELL_DEG / 2, 6)
    lat = np.round(np.arange(north + 0.05, south - 0.05, -CELL_DEG) - CELL_DEG / 2, 6)
    return lon, lat


def _cf_dataset(lon, lat, fields, starts, issued: datetime | None) -> xr.Dataset:
    """CF-1.8 precipitation amounts with time bounds; a forecast carries its reference time."""
    ends = [s + timedelta(hours=1) for s in starts]
    to_naive = [t.astimezone(UTC).replace(tzinfo=None) for t in ends]
    bounds = np.array(
        [
            [s.astimezone(UTC).replace(tzinfo=None), e]
            for s, e in zip(starts, to_naive, strict=True)
        ],
        dtype="datetime64[s]",
    )
    ds = xr.Dataset(
        {
            "precipitation_amount": (
                ("time", "lat", "lon"),
                np.round(np.stack(fields), 1).astype("float32"),
                {
                    "standard_name": "precipitation_amount",
                    "long_name": "1-hour precipitation",
                    "units": "kg m-2",
                    "cell_methods": "time: sum",
                    "_FillValue": np.float32(-9999),
                },
            ),
            "time_bnds": (("time", "nv"), bounds),
        },
        coords={
            "time": (
                "time",
                np.array(to_naive, dtype="datetime64[s]"),
                {"standard_name": "time", "bounds": "time_bnds"},
            ),
            "lat": ("lat", lat, {"standard_name": "latitude", "units": "degrees_north"}),
            "lon": ("lon", lon, {"standard_name": "longitude", "units": "degrees_east"}),
        },
        attrs={
            "Conventions": "CF-1.8",
            "title": "riskmap demo storm (synthetic) — " + ("QPF" if issued else "QPE"),
            "institution": "riskmap demo generator (synthetic data)",
            "source": "geo.demo.scenario",
        },
    )
    if issued is not None:
        ds = ds.assign_coords(
            forecast_reference_time=(
                (),
                np.datetime64(issued.astimezone(UTC).replace(tzinfo=None), "s"),
                {"standard_name": "forecast_reference_time"},
            )
        )
    return ds


def _write_nc(ds: xr.Dataset, path: Path) -> None:
    encoding = {
        "precipitation_amount": {"zlib": True, "complevel": 4},
        "time": {"units": "hours since 1970-01-01 00:00:00", "calendar": "standard"},
        "time_bnds": {"units": "hours since 1970-01-01 00:00:00"},
    }
    if "forecast_reference_time" in ds.coords:
        encoding["forecast_reference_time"] = {"units": "hours since 1970-01-01 00:00:00"}
    ds.to_netcdf(path, engine="netcdf4", encoding=encoding)


def write_rain_grids(
    storm: Storm,
    bounds: tuple[float, float, float, float],
    hours: list[datetime],
    out_dir: Path,
    rng: np.random.Generator,
    *,
    inside: shapely.Geometry | None = None,
) -> list[Path]:
    """One QPE file per hour of ``hours`` and, in the third hour, the next six hours' QPF.

    ``inside``: where the storm core may rain (cells whose centre lies in it); elsewhere only
    the drizzle falls. None: everywhere.
    """
    lon, lat = _grid(bounds)
    glon, glat = np.meshgrid(lon, lat)
    core = None if inside is None else shapely.contains_xy(inside, glon, glat)

    def rate(hour: float) -> np.ndarray:
        return storm.rate(glon, glat, hour, core=core)

    fields = [rate(h) for h in range(len(hours))]
    written: list[Path] = []

    for h, (t, field) in enumerate(zip(hours, fields, strict=True)):
        path = out_dir / f"{stamp(t + timedelta(hours=1))}_qpe_1h.nc"
        _write_nc(_cf_dataset(lon, lat, [field], [t], None), path)
        written.append(path)
        if h == 2:  # the morning forecast: the next six hours
            leads = [t + timedelta(hours=k) for k in range(1, 7)]
            fc = [rate(h + k) * rng.uniform(0.85, 1.15) for k in range(1, 7)]
            path = out_dir / f"{stamp(t + timedelta(minutes=30))}_qpf_6h.nc"
            _write_nc(_cf_dataset(lon, lat, fc, leads, t), path)
            written.append(path)
    return written
