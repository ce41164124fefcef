"""CF NetCDF rainfall grids: find the rain variable, its axes and CRS, and read it north-up.

Only regular lat/lon or projected x/y grids are read. Station or point files (a CF
``featureType``, or lat/lon along a station dimension such as the ERA5 city file) are refused:
station rain belongs to the gauge feeds. When each step's period is decided is in
``netcdf_times``. netCDF4 and xarray are imported when a file is read, so that importing the
grids package stays cheap.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from affine import Affine
from pyproj import CRS

from riskmap.geo.grids.model import GridFile, GridReadError, canonical_crs
from riskmap.geo.grids.netcdf_times import LEAD_DIMS, REFERENCE_NAMES, netcdf_periods

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
STATION_FEATURES = {"point", "timeseries", "trajectory", "profile", "timeseriesprofile"}


def _is_rain_var(name: str, var) -> bool:
    std = str(getattr(var, "standard_name", "")).lower()
    return (std in RAIN_STANDARD_NAMES or name.lower() in RAIN_NAMES) and len(var.dimensions) >= 1


def find_rain_variable(nc) -> tuple[str, str] | None:
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


def feature_type(nc) -> str:
    """The dataset's CF ``featureType``, lower-case (empty for a grid)."""
    return str(getattr(nc, "featureType", "")).strip().lower()


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


def _regular_axis(values: np.ndarray, what: str, name: str) -> tuple[float, float, bool]:
    """(first centre, |spacing|, ascending) of an equally spaced coordinate."""
    v = np.asarray(values, dtype=np.float64)
    if v.size < 2:
        raise GridReadError(f"{name}: {what} has fewer than 2 cells; cannot tell the spacing")
    if not np.isfinite(v).all():
        raise GridReadError(f"{name}: {what} has missing (NaN) or infinite coordinates")
    d = np.diff(v)
    step = float(np.mean(d))
    if step == 0 or np.max(np.abs(d - step)) > 1e-3 * abs(step):
        raise GridReadError(f"{name}: {what} spacing is irregular; only regular grids are read")
    return float(v[0]), abs(step), step > 0


def _snap(value: float, cell: float) -> float:
    """Float32 coordinates carry noise: snap to 1e-4 of a cell so one grid gets one id."""
    unit = 10.0 ** (np.floor(np.log10(cell)) - 4)
    return float(np.round(value / unit) * unit)


def grid_transform(
    ds, xdim: str, ydim: str, name: str
) -> tuple[Affine, tuple[int, int], bool, bool]:
    """The north-up transform of a regular grid from its 1-D coordinate axes (cell centres),
    its (height, width), and whether the axes run up (y south→north, x west→east)."""
    x0, dx, x_up = _regular_axis(ds[xdim].values, xdim, name)
    y0, dy, y_up = _regular_axis(ds[ydim].values, ydim, name)
    width, height = ds.sizes[xdim], ds.sizes[ydim]
    xmin = min(x0, x0 + (1 if x_up else -1) * dx * (width - 1)) - dx / 2
    ytop = max(y0, y0 + (1 if y_up else -1) * dy * (height - 1)) + dy / 2
    transform = Affine(_snap(dx, dx), 0, _snap(xmin, dx), 0, -_snap(dy, dy), _snap(ytop, dy))
    return transform, (height, width), y_up, x_up


def _grid_crs(ds, var, kinds: dict[str, str], name: str) -> CRS:
    mapping = var.attrs.get("grid_mapping")
    if mapping and mapping in ds.variables:
        attrs = dict(ds[mapping].attrs)
        wkt = attrs.get("crs_wkt") or attrs.get("spatial_ref")
        try:
            return CRS.from_wkt(wkt) if wkt else CRS.from_cf(attrs)
        except Exception as exc:  # pyproj raises several types for a bad mapping
            raise GridReadError(f"{name}: grid_mapping {mapping!r} is not a CRS: {exc}") from exc
    if "lat" in kinds.values() and "lon" in kinds.values():
        return CRS.from_epsg(4326)  # CF latitude/longitude coordinates imply WGS 84
    raise GridReadError(
        f"{name}: grid with no CRS: x/y coordinates without a grid_mapping variable"
    )


def read_netcdf(path: Path) -> GridFile:
    """A CF NetCDF grid (NetCDF-3 or 4, variables possibly in a group)."""
    import netCDF4
    import xarray as xr

    name = path.name
    try:
        with netCDF4.Dataset(path) as nc:
            feature = feature_type(nc)
            found = find_rain_variable(nc)
            attrs = {k.upper(): str(nc.getncattr(k)) for k in nc.ncattrs()}
    except (OSError, RuntimeError, UnicodeDecodeError) as exc:  # damaged header or names
        raise GridReadError(
            f"{name}: cannot be opened as NetCDF (truncated or damaged file): {exc}"
        ) from exc
    if feature in STATION_FEATURES:
        raise GridReadError(
            f"{name}: not a gridded product (featureType/station layout: featureType={feature})"
        )
    if found is None:
        raise GridReadError(f"{name}: no rainfall variable (precipitation standard_name or name)")
    group, vname = found
    try:
        ds = xr.open_dataset(
            path, group=None if group == "/" else group, decode_times=False, engine="netcdf4"
        )
    except (OSError, ValueError) as exc:
        raise GridReadError(f"{name}: cannot be read as NetCDF: {exc}") from exc
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
            raise GridReadError(
                f"{where}: not a gridded product (featureType/station layout: latitude and"
                f" longitude lie along dimension {shared[0][0]!r}); station rain is read by the"
                " gauge feeds"
            )
        if any(len(d) == 2 for d in lat_dims):
            raise GridReadError(f"{where}: curvilinear (2-D lat/lon) grids are not supported")
        raise GridReadError(f"{where}: no latitude/longitude or x/y dimensions found")
    xdim = next(d for d in horizontal if kinds[d] in ("lon", "x"))
    ydim = next(d for d in horizontal if kinds[d] in ("lat", "y"))
    crs = canonical_crs(_grid_crs(ds, var, kinds, where))
    transform, (height, width), y_up, x_up = grid_transform(ds, xdim, ydim, name)

    extra = [d for d in var.dims if d not in (xdim, ydim)]
    time_dim = next((d for d in extra if kinds.get(d) == "time"), None)
    lead_dim = next((d for d in extra if kinds.get(d) == "lead"), None)
    for d in extra:
        if d not in (time_dim, lead_dim) and ds.sizes[d] != 1:
            raise GridReadError(f"{where}: dimension {d!r} of size {ds.sizes[d]} is not supported")
    periods = netcdf_periods(ds, var, time_dim, lead_dim, attrs, name)
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
