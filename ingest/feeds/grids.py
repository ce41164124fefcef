"""Rainfall grids: CF-NetCDF and GeoTIFF analyses (QPE) and forecasts (QPF) → catalogue, villages.

A grid file is copied into the data store (``<data_dir>/grids/<yyyy>/<mm>/<dd>/<sha256 prefix>-
<name>``, dated by its first period) and catalogued: its grid definition (CRS, north-up affine
transform, shape, footprint) in ``grid_definition`` and one ``grid_file`` row per period (time
step, lead time or band). In the same transaction every village of ``admin_unit`` that the
footprint touches gets its area-weighted mean and max rain and its coverage for each period in
``village_rain`` (weights from :mod:`geo.zonal`, built once per grid definition and villages
version, cached under ``<data_dir>/cache/zonal``): one ``village_rain_grid`` row of arrays per
period, which the ``village_rain`` view presents as village rows (migration 0022).

What decides analysis (qpe) or forecast (qpf)
-----------------------------------------------
NetCDF (CF conventions):

* ``forecast_reference_time`` (coordinate, variable, or standard_name) → qpf issued then; leads
  from a ``step``/``lead_time``/``forecast_period`` dimension, or ``time - reference``;
* a lead dimension without a reference time → qpf with ``time`` as the run time (cfgrib layout);
* otherwise qpe. Periods come from time bounds (``time:bounds``); without bounds several
  equally spaced times are period ends (CF: an accumulation is stamped at its end) and a single
  time needs the file-name pattern or the global attributes below.
* Leads without bounds are successive intervals: ``(issued + previous lead, issued + lead]``,
  the first one as long as the lead spacing (or from the run time when there is one lead).

GeoTIFF tags (dataset tags, overridden per band by band tags), the same names are read from
NetCDF global attributes when a file has no time coordinate:

=====================  =====================================================================
``RISKMAP_PRODUCT``    ``qpe`` or ``qpf``
``RISKMAP_VALID_START`` ISO 8601 start of the accumulation period (no offset = UTC)
``RISKMAP_VALID_END``  ISO 8601 end of the period
``RISKMAP_ISSUED``     forecasts: run time (required for qpf)
``RISKMAP_UNITS``      units if the band carries none (band ``units``/description win)
=====================  =====================================================================

File-name pattern (UTC, case-insensitive), used where tags/attributes are missing:
``…qpe_<YYYYmmddHHMM>_<YYYYmmddHHMM>…`` (start, end) or
``…qpf_<YYYYmmddHHMM>_<YYYYmmddHHMM>_i<YYYYmmddHHMM>…`` (start, end, issued), e.g.
``mayang_qpe_202607011200_202607011300.tif``.

Units: mm, kg m-2 (= mm of water), m (× 1000), cm (× 10); rates (mm/h, mm hr-1, mm/day,
kg m-2 s-1, mm s-1, m s-1) are multiplied by the period. Anything else is rejected. Declared
nodata/_FillValue cells are NaN; negative, non-finite and ≥ 2000 mm values (sentinels such as
99999 or -999999) are NaN too and reported as a problem; a period with no valid cell is
quarantined, a file with none at all is rejected.

Times: CF ``<unit> since <date>`` in the standard, gregorian, proleptic_gregorian calendars;
``julian`` is read as gregorian because NASA GPM files label their UTC times so (the IMERG sample
says 2020-01-01T12:00Z in its header and its julian-labelled time agrees only when read so).
Model calendars (360_day, noleap, …) are rejected: they are not real time.

Not supported (rejected with a message, and not claimed by :meth:`RainGridFeed.sniff`): GRIB
(no eccodes here), DWD RADOLAN binaries, satellite swaths, station/point NetCDF (a CF
``featureType`` or lat/lon along a station dimension, e.g. the ERA5 city file) — station rain
belongs to the gauge feeds, not to grids.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import re
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import psycopg
import shapely
from affine import Affine
from pyproj import CRS, Transformer

from riskmap.geo.db.sqlfiles import load_sql
from riskmap.ingest.pipeline import Batch, Context, FeedReadError, Problem, TableLoad, register

if TYPE_CHECKING:
    from riskmap.geo import zonal

log = logging.getLogger("riskmap.ingest.grids")

KIND = "rain-grid"
MAX_MM = 2000.0  # village_rain refuses more; no real period reaches it: a sentinel
NETCDF_MAGIC = (b"CDF\x01", b"CDF\x02", b"CDF\x05", b"\x89HDF\r\n\x1a\n")
TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
RAIN_STANDARD_NAMES = {
    "precipitation_amount",
    "precipitation_flux",
    "lwe_thickness_of_precipitation_amount",
    "lwe_precipitation_rate",
    "rainfall_amount",
    "rainfall_flux",
    "rainfall_rate",
    "thickness_of_rainfall_amount",
    "lwe_thickness_of_rainfall_amount",
}
RAIN_NAMES = (
    "precipitationcal",
    "precipitation",
    "precip",
    "pr",
    "tp",
    "apcp",
    "rain",
    "rainfall",
    "prcp",
    "pre",
    "qpe",
    "qpf",
    "rr",
)
LEAD_DIMS = {"step", "lead", "lead_time", "leadtime", "forecast_period", "forecast_hour"}
REFERENCE_NAMES = {"forecast_reference_time", "reference_time", "analysis_time"}
STATION_FEATURES = {"point", "timeseries", "trajectory", "profile", "timeseriesprofile"}
FILENAME_PATTERN = re.compile(
    r"(?P<product>qpe|qpf)_(?P<start>\d{12})_(?P<end>\d{12})(?:_i(?P<issued>\d{12}))?",
    re.IGNORECASE,
)


# -- units -----------------------------------------------------------------------------------

_AMOUNT = {"mm": 1.0, "kgm-2": 1.0, "m": 1000.0, "cm": 10.0}
_PER = {"s": 1.0, "h": 3600.0, "d": 86400.0}


def parse_units(units: str | None) -> tuple[float, float | None]:
    """(factor to mm, seconds of the rate's time unit or None for an amount).

    Accepts mm, kg m-2, m, cm, and their rates per second, hour or day in the spellings CF and
    data centres use (``mm/hr``, ``mm hr-1``, ``mm h**-1``, ``kg m-2 s-1``, ``mm/day``, …).
    Raises ValueError for anything else, so a grid in unknown units is never taken as mm.
    """
    if units is None or not str(units).strip():
        raise ValueError("missing units")
    u = str(units).strip().lower().replace("**", "").replace("^", "")
    u = re.sub(r"millimet(er|re)s?", "mm", u)
    u = re.sub(r"\b(hours?|hrs?)\b", "h", u)
    u = re.sub(r"\b(days?)\b", "d", u)
    u = re.sub(r"\b(seconds?|sec)\b", "s", u)
    u = u.replace("kg/m2", "kg m-2").replace("kg.m-2", "kg m-2").replace("kg m2", "kg m-2")
    u = re.sub(r"\s+", " ", u)
    m = re.fullmatch(r"(mm|kg ?m-2|m|cm)(?:(?: ?/ ?| )(s|h|d)(?:-1)?)?", u)
    if not m:
        raise ValueError(f"unknown units {units!r}")
    amount = _AMOUNT[m.group(1).replace(" ", "")]
    per = m.group(2)
    if per is not None and "/" not in u and not u.endswith("-1"):
        raise ValueError(f"unknown units {units!r}")
    return amount, (_PER[per] if per else None)


def to_mm_factor(units: str | None, seconds: float) -> float:
    """Multiplier turning a value in ``units`` into mm over a period of ``seconds``."""
    amount, per = parse_units(units)
    return amount * (seconds / per if per else 1.0)


# -- what a reader returns -----------------------------------------------------------------


@dataclass
class Period:
    """One accumulation period of a file (a time step, a lead or a band)."""

    index: int
    label: str  # "time step 2", "lead 6 h", "band 1"
    product: str
    valid_start: datetime
    valid_end: datetime
    issued_at: datetime
    lead_hours: float | None = None


@dataclass
class GridFile:
    """A readable grid: its definition and a way to read each period's raw values."""

    variable: str
    units: str
    crs: CRS
    transform: Affine  # north-up
    shape: tuple[int, int]
    periods: list[Period]
    read: object  # callable(index) -> 2-D float64 north-up array, NaN where declared nodata
    problems: list[Problem] = field(default_factory=list)


def canonical_crs(crs: CRS) -> CRS:
    """The EPSG definition when the CRS is one (so GeoTIFF and NetCDF grids share an id)."""
    epsg = crs.to_epsg(min_confidence=90)
    return CRS.from_epsg(epsg) if epsg else crs


def _utc(value: str | datetime, what: str, name: str) -> datetime:
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise FeedReadError(f"{name}: {what} {value!r} is not a time ({exc})") from exc
    if pd.isna(ts):
        raise FeedReadError(f"{name}: {what} is empty")
    ts = ts.tz_localize(UTC) if ts.tzinfo is None else ts.tz_convert(UTC)
    return ts.to_pydatetime()


def _period_from_tags(tags: dict[str, str], name: str, index: int, label: str) -> Period | None:
    """A period from RISKMAP_* tags/attributes, else from the file-name pattern, else None."""
    tags = {k.upper(): v for k, v in tags.items()}
    product = tags.get("RISKMAP_PRODUCT")
    start, end, issued = (tags.get(f"RISKMAP_{k}") for k in ("VALID_START", "VALID_END", "ISSUED"))
    if not (product and start and end):
        m = FILENAME_PATTERN.search(name)
        if m is None:
            return None
        product = product or m["product"]
        start = start or datetime.strptime(m["start"], "%Y%m%d%H%M").replace(tzinfo=UTC)
        end = end or datetime.strptime(m["end"], "%Y%m%d%H%M").replace(tzinfo=UTC)
        if m["issued"] and not issued:
            issued = datetime.strptime(m["issued"], "%Y%m%d%H%M").replace(tzinfo=UTC)
    product = str(product).strip().lower()
    if product not in ("qpe", "qpf"):
        raise FeedReadError(f"{name}: RISKMAP_PRODUCT must be qpe or qpf, not {product!r}")
    vs, ve = _utc(start, "RISKMAP_VALID_START", name), _utc(end, "RISKMAP_VALID_END", name)
    if product == "qpe":
        return Period(index, label, "qpe", vs, ve, ve)
    if not issued:
        raise FeedReadError(f"{name}: a qpf needs RISKMAP_ISSUED (the forecast run time)")
    iss = _utc(issued, "RISKMAP_ISSUED", name)
    return Period(index, label, "qpf", vs, ve, iss, (ve - iss).total_seconds() / 3600)


# -- GeoTIFF -----------------------------------------------------------------------------------


def _band_units(ds, bidx: int, tags: dict[str, str]) -> str | None:
    units = (ds.units[bidx - 1] or "").strip() if ds.units else ""
    band_tags = {k.lower(): v for k, v in ds.tags(bidx).items()}
    description = (ds.descriptions[bidx - 1] or "").strip() if ds.descriptions else ""
    for candidate in (units, band_tags.get("units"), band_tags.get("riskmap_units")):
        if candidate:
            return candidate
    if description:
        try:
            parse_units(description)
            return description
        except ValueError:
            m = re.search(r"[\(\[]([^\)\]]+)[\)\]]\s*$", description)  # "rain (mm)"
            if m:
                return m.group(1)
    return tags.get("RISKMAP_UNITS") or tags.get("UNITS")


def read_geotiff(path: Path) -> GridFile:
    """A GeoTIFF: each band one period; tags (or the file name) say which."""
    import rasterio
    from rasterio.errors import RasterioIOError

    name = path.name
    try:
        ds = rasterio.open(path)
    except RasterioIOError as exc:
        raise FeedReadError(f"{name}: cannot be opened as GeoTIFF (truncated?): {exc}") from exc
    with ds:
        if ds.crs is None:
            raise FeedReadError(
                f"{name}: grid with no CRS (no georeferencing); write one, e.g. EPSG:4326"
            )
        crs = canonical_crs(CRS.from_wkt(ds.crs.to_wkt()))
        tr = ds.transform
        if tr.b != 0 or tr.d != 0:
            raise FeedReadError(f"{name}: rotated grids are not supported")
        flip_rows, flip_cols = tr.e > 0, tr.a < 0
        h, w = ds.height, ds.width
        north_up = Affine(
            abs(tr.a),
            0,
            tr.c + (tr.a * w if flip_cols else 0),
            0,
            -abs(tr.e),
            tr.f + (tr.e * h if flip_rows else 0),
        )
        tags = {k.upper(): v for k, v in ds.tags().items()}
        periods, units_of, problems = [], {}, []
        for bidx in range(1, ds.count + 1):
            band_tags = {**tags, **{k.upper(): v for k, v in ds.tags(bidx).items()}}
            own = any(k.startswith("RISKMAP_VALID") for k in ds.tags(bidx))
            if bidx > 1 and not own:
                problems.append(
                    Problem(f"band {bidx}", "RISKMAP_VALID_START", "band has no period tags")
                )
                continue
            period = _period_from_tags(band_tags, name, bidx, f"band {bidx}")
            if period is None:
                raise FeedReadError(
                    f"{name}: cannot tell the period: tag RISKMAP_PRODUCT, RISKMAP_VALID_START"
                    " and RISKMAP_VALID_END, or name the file …qpe_YYYYmmddHHMM_YYYYmmddHHMM…"
                )
            periods.append(period)
            units_of[bidx] = _band_units(ds, bidx, tags)
    unit_set = {u for u in units_of.values()}
    if len(unit_set) > 1:
        raise FeedReadError(f"{name}: bands in different units {sorted(map(str, unit_set))}")
    units = next(iter(unit_set), None)

    def read(index: int) -> np.ndarray:
        with rasterio.open(path) as src:
            band = src.read(index, masked=True).astype(np.float64)
        values = band.filled(np.nan)
        if flip_rows:
            values = values[::-1, :]
        if flip_cols:
            values = values[:, ::-1]
        return values

    return GridFile(
        f"band {periods[0].index}" if len(periods) == 1 else "bands",
        units or "",
        crs,
        north_up,
        (h, w),
        periods,
        read,
        problems,
    )


# -- NetCDF ------------------------------------------------------------------------------------


def _is_rain_var(name: str, var) -> bool:
    std = str(getattr(var, "standard_name", "")).lower()
    return (std in RAIN_STANDARD_NAMES or name.lower() in RAIN_NAMES) and len(var.dimensions) >= 1


def _find_rain_variable(nc) -> tuple[str, str] | None:
    """(group path, variable name) of the first rainfall variable, searching groups too."""
    stack = [nc]
    while stack:
        group = stack.pop(0)
        candidates = [n for n, v in group.variables.items() if _is_rain_var(n, v)]
        if candidates:
            by_priority = sorted(
                candidates,
                key=lambda n: RAIN_NAMES.index(n.lower()) if n.lower() in RAIN_NAMES else 99,
            )
            return group.path, by_priority[0]
        stack.extend(group.groups.values())
    return None


def _feature_type(nc) -> str:
    return str(getattr(nc, "featureType", "")).strip().lower()


def _sniff_netcdf(path: Path) -> bool:
    import netCDF4

    with netCDF4.Dataset(path) as nc:
        if _feature_type(nc) in STATION_FEATURES:
            return False  # CF discrete sampling geometry: station feeds
        return _find_rain_variable(nc) is not None


def _axis_kind(name: str, coord) -> str | None:
    """'lat', 'lon', 'x', 'y', 'time', 'lead', 'ref' or None for a coordinate variable."""
    if coord is None:
        return "lead" if name.lower() in LEAD_DIMS else None
    attrs = {k.lower(): str(v) for k, v in coord.attrs.items()}
    std = attrs.get("standard_name", "").lower()
    units = attrs.get("units", "").lower().replace(" ", "")
    axis = attrs.get("axis", "").upper()
    lname = name.lower()
    if std == "latitude" or units in {"degrees_north", "degree_north", "degreen", "degrees_n"}:
        return "lat"
    if std == "longitude" or units in {"degrees_east", "degree_east", "degreee", "degrees_e"}:
        return "lon"
    if lname in {"lat", "latitude"}:
        return "lat"
    if lname in {"lon", "longitude"}:
        return "lon"
    if std == "projection_x_coordinate" or (axis == "X" and lname != "lon"):
        return "x"
    if std == "projection_y_coordinate" or (axis == "Y" and lname != "lat"):
        return "y"
    if std == "forecast_reference_time" or lname in REFERENCE_NAMES:
        return "ref"
    if std == "forecast_period" or lname in LEAD_DIMS:
        return "lead"
    if std == "time" or axis == "T" or lname == "time" or " since " in attrs.get("units", ""):
        return "time"
    return None


_TIME_UNITS = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
}  # fmt: skip
_REAL_CALENDARS = {"", "standard", "gregorian", "proleptic_gregorian", "julian"}


def decode_times(values: np.ndarray, units: str, calendar: str, name: str) -> list[datetime]:
    """CF ``<unit> since <date>`` numbers → UTC datetimes (see the module doc on calendars)."""
    cal = (calendar or "").strip().lower()
    if cal not in _REAL_CALENDARS:
        raise FeedReadError(f"{name}: calendar {calendar!r} is a model calendar, not real time")
    m = re.fullmatch(r"\s*(\w+)\s+since\s+(.+?)\s*", units or "")
    if not m or m.group(1).lower() not in _TIME_UNITS:
        raise FeedReadError(f"{name}: time units {units!r} are not '<unit> since <date>'")
    ref_text = re.sub(r"\s*(UTC|GMT|Z)$", "", m.group(2).strip(), flags=re.IGNORECASE)
    ref = _utc(ref_text, "time reference", name)
    step = _TIME_UNITS[m.group(1).lower()]
    return [ref + timedelta(seconds=float(v) * step) for v in np.asarray(values).ravel()]


def _lead_hours(coord, name: str) -> np.ndarray:
    values = np.asarray(coord.values)
    if np.issubdtype(values.dtype, np.timedelta64):
        return values.astype("timedelta64[s]").astype(np.float64) / 3600
    unit = str(coord.attrs.get("units", "hours")).strip().lower()
    if unit not in _TIME_UNITS:
        raise FeedReadError(f"{name}: lead units {unit!r} are not a time span")
    return values.astype(np.float64) * _TIME_UNITS[unit] / 3600


def _regular_axis(values: np.ndarray, what: str, name: str) -> tuple[float, float, bool]:
    """(first centre, |spacing|, ascending) of an equally spaced coordinate."""
    v = np.asarray(values, dtype=np.float64)
    if v.size < 2:
        raise FeedReadError(f"{name}: {what} has fewer than 2 cells; cannot tell the spacing")
    d = np.diff(v)
    step = float(np.mean(d))
    if step == 0 or np.max(np.abs(d - step)) > 1e-3 * abs(step):
        raise FeedReadError(f"{name}: {what} spacing is irregular; only regular grids are read")
    return float(v[0]), abs(step), step > 0


def _snap(value: float, cell: float) -> float:
    """Float32 coordinates carry noise: snap to 1e-4 of a cell so one grid gets one id."""
    unit = 10.0 ** (np.floor(np.log10(cell)) - 4)
    return float(np.round(value / unit) * unit)


def _grid_crs(ds, var, kinds: dict[str, str], name: str) -> CRS:
    mapping = var.attrs.get("grid_mapping")
    if mapping and mapping in ds.variables:
        attrs = dict(ds[mapping].attrs)
        wkt = attrs.get("crs_wkt") or attrs.get("spatial_ref")
        try:
            return CRS.from_wkt(wkt) if wkt else CRS.from_cf(attrs)
        except Exception as exc:  # pyproj raises several types for a bad mapping
            raise FeedReadError(f"{name}: grid_mapping {mapping!r} is not a CRS: {exc}") from exc
    if "lat" in kinds.values() and "lon" in kinds.values():
        return CRS.from_epsg(4326)  # CF latitude/longitude coordinates imply WGS 84
    raise FeedReadError(
        f"{name}: grid with no CRS: x/y coordinates without a grid_mapping variable"
    )


def _time_bounds(ds, coord_name: str) -> np.ndarray | None:
    coord = ds[coord_name]
    bname = coord.attrs.get("bounds") or coord.attrs.get("climatology")
    if bname and bname in ds.variables:
        return np.asarray(ds[bname].values, dtype=np.float64)
    return None


def read_netcdf(path: Path) -> GridFile:
    """A CF NetCDF grid (NetCDF-3 or 4, variables possibly in a group)."""
    import netCDF4
    import xarray as xr

    name = path.name
    try:
        with netCDF4.Dataset(path) as nc:
            feature = _feature_type(nc)
            found = _find_rain_variable(nc)
            attrs = {k.upper(): str(nc.getncattr(k)) for k in nc.ncattrs()}
    except OSError as exc:
        raise FeedReadError(
            f"{name}: cannot be opened as NetCDF (truncated or damaged file): {exc}"
        ) from exc
    if feature in STATION_FEATURES:
        raise FeedReadError(
            f"{name}: not a gridded product (featureType/station layout: featureType={feature})"
        )
    if found is None:
        raise FeedReadError(f"{name}: no rainfall variable (precipitation standard_name or name)")
    group, vname = found
    try:
        ds = xr.open_dataset(
            path, group=None if group == "/" else group, decode_times=False, engine="netcdf4"
        )
    except (OSError, ValueError) as exc:
        raise FeedReadError(f"{name}: cannot be read as NetCDF: {exc}") from exc
    var = ds[vname]
    where = f"{name}: variable {vname}"
    kinds: dict[str, str] = {}
    for dim in var.dims:
        coord = ds[dim] if dim in ds.variables else None
        kind = _axis_kind(dim, coord)
        if kind is not None:
            kinds[dim] = kind
    horizontal = [d for d, k in kinds.items() if k in ("lat", "lon", "x", "y")]
    if len(horizontal) < 2:
        lat_dims = {
            ds[c].dims for c in ds.variables if _axis_kind(c, ds[c]) in ("lat", "lon", "x", "y")
        }
        shared = [d for d in lat_dims if len(d) == 1 and d[0] in var.dims]
        if shared:
            raise FeedReadError(
                f"{where}: not a gridded product (featureType/station layout: latitude and"
                f" longitude lie along dimension {shared[0][0]!r}); station rain is read by the"
                " gauge feeds"
            )
        if any(len(d) == 2 for d in lat_dims):
            raise FeedReadError(f"{where}: curvilinear (2-D lat/lon) grids are not supported")
        raise FeedReadError(f"{where}: no latitude/longitude or x/y dimensions found")
    xdim = next(d for d in horizontal if kinds[d] in ("lon", "x"))
    ydim = next(d for d in horizontal if kinds[d] in ("lat", "y"))
    crs = canonical_crs(_grid_crs(ds, var, kinds, where))
    x0, dx, x_up = _regular_axis(ds[xdim].values, xdim, name)
    y0, dy, y_up = _regular_axis(ds[ydim].values, ydim, name)
    width, height = ds.sizes[xdim], ds.sizes[ydim]
    xmin = min(x0, x0 + (1 if x_up else -1) * dx * (width - 1)) - dx / 2
    ytop = max(y0, y0 + (1 if y_up else -1) * dy * (height - 1)) + dy / 2
    transform = Affine(_snap(dx, dx), 0, _snap(xmin, dx), 0, -_snap(dy, dy), _snap(ytop, dy))

    extra = [d for d in var.dims if d not in (xdim, ydim)]
    time_dim = next((d for d in extra if kinds.get(d) == "time"), None)
    lead_dim = next((d for d in extra if kinds.get(d) == "lead"), None)
    for d in extra:
        if d not in (time_dim, lead_dim) and ds.sizes[d] != 1:
            raise FeedReadError(f"{where}: dimension {d!r} of size {ds.sizes[d]} is not supported")
    periods = _netcdf_periods(ds, var, time_dim, lead_dim, attrs, name)
    units = str(var.attrs.get("units", "")).strip()

    def read(index: int) -> np.ndarray:
        sel = {d: 0 for d in extra if d not in (time_dim, lead_dim)}
        steps = _step_index(index, ds, time_dim, lead_dim)
        arr = ds[vname].isel({**sel, **steps}).transpose(ydim, xdim).values
        values = np.asarray(arr, dtype=np.float64)
        if y_up:
            values = values[::-1, :]
        if not x_up:
            values = values[:, ::-1]
        return values

    return GridFile(vname, units, crs, transform, (height, width), periods, read)


def _step_index(index: int, ds, time_dim: str | None, lead_dim: str | None) -> dict[str, int]:
    if time_dim and lead_dim:
        n_lead = ds.sizes[lead_dim]
        return {time_dim: index // n_lead, lead_dim: index % n_lead}
    if time_dim:
        return {time_dim: index}
    if lead_dim:
        return {lead_dim: index}
    return {}


def _reference_time(ds, name: str) -> datetime | None:
    for vname in ds.variables:
        coord = ds[vname]
        std = str(coord.attrs.get("standard_name", "")).lower()
        if std == "forecast_reference_time" or vname.lower() in REFERENCE_NAMES:
            values = np.asarray(coord.values).ravel()
            if values.size != 1:
                raise FeedReadError(f"{name}: several forecast reference times in one file")
            units = str(coord.attrs.get("units", ""))
            return decode_times(values, units, str(coord.attrs.get("calendar", "")), name)[0]
    return None


def _netcdf_periods(
    ds, var, time_dim: str | None, lead_dim: str | None, attrs: dict[str, str], name: str
) -> list[Period]:
    """The accumulation period of each time step / lead (see the module doc for the rules)."""
    times: list[datetime] | None = None
    bounds: list[tuple[datetime, datetime]] | None = None
    if time_dim is not None:
        coord = ds[time_dim]
        units, cal = str(coord.attrs.get("units", "")), str(coord.attrs.get("calendar", ""))
        times = decode_times(coord.values, units, cal, name)
        raw = _time_bounds(ds, time_dim)
        if raw is not None:
            flat = decode_times(raw, units, cal, name)
            bounds = list(zip(flat[0::2], flat[1::2], strict=True))
    reference = _reference_time(ds, name)
    if lead_dim is not None:
        leads = _lead_hours(ds[lead_dim], name)
        if reference is None and times is not None and len(times) == 1:
            reference, times = times[0], None  # cfgrib layout: time = run, step = lead
        if reference is None:
            raise FeedReadError(f"{name}: lead dimension {lead_dim!r} without a reference time")
        if times is not None:
            raise FeedReadError(f"{name}: both time and lead dimensions vary; not supported")
        return _lead_periods(reference, leads, name)
    if reference is not None:
        if times is None:
            raise FeedReadError(f"{name}: forecast reference time without valid times")
        leads = np.array([(t - reference).total_seconds() / 3600 for t in times])
        if bounds is not None:
            return [
                Period(i, f"time step {i + 1}", "qpf", s, e, reference,
                       (e - reference).total_seconds() / 3600)
                for i, (s, e) in enumerate(bounds)
            ]  # fmt: skip
        return _lead_periods(reference, leads, name)
    if times is None:
        period = _period_from_tags(attrs, name, 0, "grid")
        if period is None:
            raise FeedReadError(
                f"{name}: cannot tell the period: no time coordinate, no RISKMAP_* attributes"
                " and the file name is not …qpe_YYYYmmddHHMM_YYYYmmddHHMM…"
            )
        return [period]
    if bounds is None:
        bounds = _bounds_from_spacing(times, attrs, name)
    return [Period(i, f"time step {i + 1}", "qpe", s, e, e) for i, (s, e) in enumerate(bounds)]


def _bounds_from_spacing(
    times: list[datetime], attrs: dict[str, str], name: str
) -> list[tuple[datetime, datetime]]:
    if len(times) == 1:
        tagged = _period_from_tags(attrs, name, 0, "time step 1")
        if tagged is None:
            raise FeedReadError(
                f"{name}: one time without bounds: cannot tell the accumulation period; add"
                " time bounds or name the file …qpe_YYYYmmddHHMM_YYYYmmddHHMM…"
            )
        return [(tagged.valid_start, tagged.valid_end)]
    steps = {(b - a) for a, b in itertools.pairwise(times)}
    if len(steps) != 1:
        raise FeedReadError(f"{name}: unequal time steps without bounds; add time bounds")
    step = steps.pop()
    return [(t - step, t) for t in times]


def _lead_periods(reference: datetime, leads: np.ndarray, name: str) -> list[Period]:
    leads = np.asarray(leads, dtype=np.float64)
    if np.any(np.diff(leads) <= 0):
        raise FeedReadError(f"{name}: lead times are not increasing")
    first = leads[1] - leads[0] if leads.size > 1 else leads[0]
    out = []
    for i, lead in enumerate(leads):
        start = lead - first if i == 0 else leads[i - 1]
        if lead <= 0 or start < 0:
            continue  # lead 0: no accumulation yet
        out.append(
            Period(
                i,
                f"lead {lead:g} h",
                "qpf",
                reference + timedelta(hours=float(start)),
                reference + timedelta(hours=float(lead)),
                reference,
                float(lead),
            )
        )
    if not out:
        raise FeedReadError(f"{name}: no lead time after the run time")
    return out


# -- the feed ------------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def footprint(crs: CRS, transform: Affine, shape: tuple[int, int]) -> shapely.Polygon:
    """The grid's extent as a WGS 84 polygon (edges densified so projected grids bend right)."""
    h, w = shape
    cols = np.linspace(0, w, 21)
    rows = np.linspace(0, h, 21)
    ring_c = np.concatenate([cols, np.full(20, w), cols[::-1][1:], np.zeros(20)])
    ring_r = np.concatenate([np.zeros(21), rows[1:], np.full(20, h), rows[::-1][1:]])
    xs = transform.c + transform.a * ring_c
    ys = transform.f + transform.e * ring_r
    if not crs.equals(CRS.from_epsg(4326)):
        xs, ys = Transformer.from_crs(crs, 4326, always_xy=True).transform(xs, ys)
    ys = np.clip(ys, -90, 90)
    poly = shapely.Polygon(np.column_stack([xs, ys]))
    if not poly.is_valid:
        poly = shapely.make_valid(poly)
        if not isinstance(poly, shapely.Polygon):
            poly = shapely.box(*poly.bounds)
    return shapely.set_precision(poly, 1e-9)


def _sql(name: str) -> str:
    return load_sql("riskmap.ingest.sql", name)


def _not_supported(head: bytes) -> str | None:
    if head.startswith(b"GRIB"):
        return "GRIB (no eccodes/cfgrib installed; convert to NetCDF or GeoTIFF)"
    if head.startswith(b"\x1f\x8b"):
        return "gzip-compressed data (e.g. DWD RADOLAN binaries); unpack or convert first"
    if head[:2] in (b"RW", b"RY", b"SF", b"RX") and b"PR" in head[:64]:
        return "DWD RADOLAN binary"
    return None


@dataclass
class _Step:
    """A period that has valid cells: what the catalogue row needs (values are re-read later,
    one period at a time, so a long file never sits in memory whole)."""

    period: Period
    factor: float
    valid: int
    invalid: int
    max_mm: float
    grid_file_id: str


def to_mm(raw: np.ndarray, factor: float) -> tuple[np.ndarray, int]:
    """Raw values → mm; negative, non-finite and ≥ MAX_MM cells → NaN. Returns (mm, how many
    such sentinel cells there were besides the declared nodata)."""
    with np.errstate(invalid="ignore", over="ignore"):
        mm = raw * factor
        bad = ~np.isnan(raw) & (~np.isfinite(mm) | (raw < 0) | (mm >= MAX_MM))
    mm[bad] = np.nan
    return mm, int(bad.sum())


class RainGridFeed:
    """Rainfall grids (QPE and QPF) in CF-NetCDF or GeoTIFF."""

    kind = KIND
    description = "rainfall grids (QPE analyses, QPF forecasts): CF-NetCDF, GeoTIFF"

    def sniff(self, path: Path, head: bytes) -> bool:
        """NetCDF with a rainfall variable (not a station collection) or a tagged GeoTIFF."""
        try:
            if head.startswith(NETCDF_MAGIC):
                return _sniff_netcdf(path)
            if head[:4] in TIFF_MAGIC:
                return _sniff_tiff(path)
        except (OSError, RuntimeError, ValueError, KeyError):  # unreadable: not a grid of ours
            return False
        return False

    def parse(self, path: Path, ctx: Context) -> Batch:
        """Read every period, convert to mm, and leave the village work to after_load."""
        head = path.open("rb").read(64)
        unsupported = _not_supported(head)
        if unsupported:
            raise FeedReadError(f"{path.name}: format not supported: {unsupported}")
        if head.startswith(NETCDF_MAGIC):
            grid = read_netcdf(path)
        elif head[:4] in TIFF_MAGIC:
            grid = read_geotiff(path)
        else:
            raise FeedReadError(f"{path.name}: format not supported (neither NetCDF nor GeoTIFF)")
        from riskmap.geo import zonal  # heavy (scipy); not needed to sniff

        sha = _sha256(path)
        try:
            zonal.check_north_up(grid.transform)
        except ValueError as exc:
            raise FeedReadError(f"{path.name}: {exc}") from exc
        steps, problems = _convert(grid, sha, path.name)
        problems = grid.problems + problems
        if not steps:
            reasons = "; ".join(str(p) for p in problems) or "no period"
            raise FeedReadError(f"{path.name}: no valid grid cell in any period ({reasons})")
        return _batch(path, ctx, grid, steps, problems, sha)


def _sniff_tiff(path: Path) -> bool:
    import rasterio

    if FILENAME_PATTERN.search(path.name):
        return True
    with rasterio.open(path) as ds:
        tags = {k.upper() for k in ds.tags()}
        return any(k.startswith("RISKMAP_") for k in tags)


def _convert(grid: GridFile, sha: str, name: str) -> tuple[list[_Step], list[Problem]]:
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
        raw = grid.read(period.index)
        declared = int(np.isnan(raw).sum())
        mm, bad = to_mm(raw, factor)
        if bad:
            problems.append(
                Problem(
                    period.label,
                    grid.variable,
                    f"{bad} cell(s) negative or sentinel (≥ {MAX_MM:g} mm) set to no data",
                )
            )
        valid = int((~np.isnan(mm)).sum())
        if valid == 0:
            problems.append(Problem(period.label, grid.variable, "every cell is no data"))
            continue
        steps.append(
            _Step(period, factor, valid, declared + bad, float(np.nanmax(mm)),
                  f"{sha[:20]}-{period.index}")
        )  # fmt: skip
    return steps, problems


def _batch(
    path: Path,
    ctx: Context,
    grid: GridFile,
    steps: list[_Step],
    problems: list[Problem],
    sha: str,
) -> Batch:
    from riskmap.geo import zonal

    def_id = zonal.grid_definition_id(grid.crs, grid.transform, grid.shape)
    epsg = grid.crs.to_epsg(min_confidence=90)
    gdef = pd.DataFrame(
        [
            {
                "id": def_id,
                "crs": grid.crs.to_wkt(),
                "epsg": epsg,
                "transform": [float(v) for v in tuple(grid.transform)[:6]],
                "width": grid.shape[1],
                "height": grid.shape[0],
                "footprint": footprint(grid.crs, grid.transform, grid.shape),
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
    steps: list[_Step],
    def_id: str,
    cache_dir: Path,
    event: dict,
):
    def run(conn: psycopg.Connection, ingest_id: int) -> dict[str, int]:
        stored.parent.mkdir(parents=True, exist_ok=True)
        if not stored.exists():
            shutil.copy2(path, stored)
        return {"village_rain": village_rain_for(conn, grid, steps, def_id, cache_dir, ingest_id,
                                                 event)}  # fmt: skip

    return run


def village_rain_for(
    conn: psycopg.Connection,
    grid: GridFile,
    steps: list[_Step],
    def_id: str,
    cache_dir: Path,
    ingest_id: int | None,
    event: dict,
) -> int:
    """Per-village mean, max and coverage of each period, written to village_rain.

    A period seen for the first time is one ``village_rain_grid`` row of arrays in the order of
    the weights' villages (a few ms at 25,000 villages); a period stored before goes through the
    per-village rule of ``grids_village_rain.sql`` (migration 0022 explains both).
    """
    from riskmap.geo import zonal

    (version,) = conn.execute(_sql("grids_village_version.sql")).fetchone()

    def build() -> zonal.ZonalWeights:
        rows = conn.execute(_sql("grids_village_geoms.sql"), {"grid": def_id}).fetchall()
        geoms = shapely.from_wkb([r[1] for r in rows])
        return zonal.ZonalWeights.build(
            geoms, [r[0] for r in rows], grid.shape, grid.transform, grid.crs
        )

    weights, origin = zonal.weights_for(def_id, version, cache_dir, build)
    event["villages"] = len(weights.codes)
    if not len(weights.codes):
        return 0
    event["zonal_weights"] = origin
    set_id = f"{def_id}-{version}"
    written = 0
    partial = 0
    for s in steps:
        values, _ = to_mm(grid.read(s.period.index), s.factor)
        cov = weights.coverage(~np.isnan(values))
        mean = weights.mean(values)
        mx = weights.max(values)
        keep = (cov > 0) & ~np.isnan(mean)
        partial = max(partial, int(((cov < 1 - 1e-9) & keep).sum()))
        if not keep.any():
            continue
        mean_mm = np.where(0.0 > mean, 0.0, mean)  # max(v, 0.0) as Python's max does it
        top = np.fmax(mx, mean)
        max_mm = np.where(0.0 > top, 0.0, top)
        key = {
            "product": s.period.product,
            "valid_start": s.period.valid_start,
            "valid_end": s.period.valid_end,
            "issued_at": s.period.issued_at,
        }
        conn.execute(_sql("grids_period_lock.sql"), key)
        grid_row, village_rows = conn.execute(_sql("grids_period_taken.sql"), key).fetchone()
        if not (grid_row or village_rows):
            _ensure_village_set(conn, set_id, weights.codes)
            with conn.cursor() as cur:
                cur.adapters.register_dumper(np.ndarray, zonal.Float8ArrayDumper)
                cur.execute(
                    _sql("grids_village_rain_grid.sql"),
                    {
                        **key,
                        "village_set": set_id,
                        "mean": np.where(keep, mean_mm, np.nan),
                        "max": np.where(keep, max_mm, np.nan),
                        "coverage": np.where(keep, cov, np.nan),
                        "source_ref": s.grid_file_id,
                        "ingest_id": ingest_id,
                    },
                )
            written += int(keep.sum())
            continue
        if grid_row:
            conn.execute(_sql("grids_explode.sql"), key)
        written += conn.execute(
            _sql("grids_village_rain.sql"),
            {
                **key,
                "codes": list(weights.codes[keep]),
                "mean": [float(v) for v in mean_mm[keep]],
                "max": [float(v) for v in max_mm[keep]],
                "coverage": [float(v) for v in cov[keep]],
                "source_ref": s.grid_file_id,
                "ingest_id": ingest_id,
            },
        ).rowcount
    event["villages_partly_covered"] = partial
    return written


def _ensure_village_set(conn: psycopg.Connection, set_id: str, codes: np.ndarray) -> None:
    """Store the weights' village order once (checked first: 25,000 codes cost ~10 ms to send)."""
    if not conn.execute(_sql("grids_village_set_exists.sql"), {"id": set_id}).fetchone()[0]:
        params = {"id": set_id, "codes": [str(c) for c in codes]}
        conn.execute(_sql("grids_village_set.sql"), params)


register(RainGridFeed())
