"""Loaders for planners: the service's tables as GeoDataFrames, DataFrames and xarray.

Each loader validates its arguments, runs one static query from ``geo/planner/sql`` (or calls
the service's own function where there is one: experts from :mod:`riskmap.geo.resources`,
warning versions from :mod:`riskmap.geo.warnings.lifecycle`) and returns what the database
holds: geometries in EPSG:4326 unless ``crs`` asks for another, times timezone-aware in UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal, get_args

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import shapely
import xarray as xr
from psycopg.rows import tuple_row
from pyproj import CRS
from pyproj.exceptions import CRSError

from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.errors import NotFoundError

SQL = SqlFiles("riskmap.geo.planner.sql")
STORED_CRS = "EPSG:4326"

Hazard = Literal["flash_flood", "geohazard", "forest_fire"]
ResourceKind = Literal["shelter", "warehouse", "team", "expert"]
WarningStatus = Literal["issued", "all"]
ObservationKind = Literal["rain", "river", "reservoir"]
RainProduct = Literal["qpe", "qpf", "gauge"]
GridProduct = Literal["qpe", "qpf"]
CrsLike = str | int | CRS


# -- validation ---------------------------------------------------------------------------------


def _check_mode(value: object, mode: Any, name: str, *, optional: bool = False) -> None:
    allowed = get_args(mode)
    if (value is None and optional) or value in allowed:
        return
    raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}")


def _check_crs(crs: CrsLike | None) -> CRS | None:
    """The requested CRS, or a ValueError that names it (before any query runs)."""
    if crs is None:
        return None
    try:
        return CRS.from_user_input(crs)
    except CRSError as exc:
        raise ValueError(f"unknown CRS {crs!r} (e.g. 'EPSG:4549'): {exc}") from exc


def _utc(value: datetime | None, name: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware (e.g. datetime(..., tzinfo=UTC))")
    return value


def _codes(value: str | Sequence[str] | None) -> list[str] | None:
    return [value] if isinstance(value, str) else (list(value) if value is not None else None)


# -- reading ------------------------------------------------------------------------------------


def _frame(
    conn: psycopg.Connection, name: str, params: dict[str, Any] | None = None
) -> pd.DataFrame:
    """Rows of one statement, columns named by the query even when there are no rows."""
    with conn.cursor(row_factory=tuple_row) as cur:
        cur.execute(SQL(name), params)
        columns = [d.name for d in cur.description or ()]
        frame = pd.DataFrame(cur.fetchall(), columns=columns)
    return _times_in_utc(frame)


def _times_in_utc(frame: pd.DataFrame) -> pd.DataFrame:
    for col in frame.columns:
        series = frame[col]
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            frame[col] = series.dt.tz_convert("UTC")
        elif series.dtype == object:
            first = series.dropna().head(1)
            if len(first) and isinstance(first.iloc[0], datetime):
                frame[col] = pd.to_datetime(series, utc=True)
    return frame


def _geoframe(frame: pd.DataFrame, crs: CRS | None) -> gpd.GeoDataFrame:
    wkb = frame.pop("wkb").map(lambda b: None if b is None else bytes(b))
    gdf = gpd.GeoDataFrame(frame, geometry=shapely.from_wkb(wkb.to_numpy()), crs=STORED_CRS)
    return gdf if crs is None else gdf.to_crs(crs)


# -- places ---------------------------------------------------------------------------------------


def villages(
    conn: psycopg.Connection, county: str | None = None, *, crs: CrsLike | None = None
) -> gpd.GeoDataFrame:
    """Villages (村/社区): code, name, township code and name, county, population, households,
    area_km2 and outline — the units every warning and risk map is counted in.

    Parameters
    ----------
    county : GB/T 2260 code (e.g. ``"431226"``); None = every county.
    crs : reproject to this CRS (e.g. ``"EPSG:4549"``); None keeps EPSG:4326.
    """
    target = _check_crs(crs)
    return _geoframe(_frame(conn, "villages.sql", {"county": county}), target)


def townships(
    conn: psycopg.Connection, county: str | None = None, *, crs: CrsLike | None = None
) -> gpd.GeoDataFrame:
    """Townships (乡镇) with population and households (their villages' sums where the township
    has no figures of its own) and their number of villages: the level reports group by."""
    target = _check_crs(crs)
    return _geoframe(_frame(conn, "townships.sql", {"county": county}), target)


def risk(
    conn: psycopg.Connection, hazard: Hazard | None = None, *, crs: CrsLike | None = None
) -> gpd.GeoDataFrame:
    """Village risk maps (村灾害风险图) as :func:`riskmap.geo.risk.build_risk` stored them: one
    row per village and hazard with susceptibility, exposure and risk level (1 low … 4 very
    high), the indicators behind them and the method version.

    Parameters
    ----------
    hazard : ``"flash_flood"``, ``"geohazard"`` or ``"forest_fire"``; None = all three.
    """
    _check_mode(hazard, Hazard, "hazard", optional=True)
    target = _check_crs(crs)
    return _geoframe(_frame(conn, "risk.sql", {"hazard": hazard}), target)


# -- resources ------------------------------------------------------------------------------------


def stock(conn: psycopg.Connection) -> pd.DataFrame:
    """Relief stock, one row per warehouse and item, with the zh-CN item name and unit."""
    return _frame(conn, "stock.sql")


def resources(
    conn: psycopg.Connection, kind: ResourceKind, *, crs: CrsLike | None = None
) -> gpd.GeoDataFrame | pd.DataFrame:
    """The emergency resources of one kind (应急资源一张图).

    Parameters
    ----------
    kind :
        ``"shelter"``: capacity, occupancy and free places. ``"warehouse"``: one column
        ``stock_<item>`` per item with its quantity (units and names in :func:`stock`).
        ``"team"``: specialty, level and members. ``"expert"``: a plain DataFrame, since
        experts have no location of their own (only the unit they serve; its label point is in
        ``lon``/``lat``); read through :func:`riskmap.geo.resources.experts`.
    crs : reproject the located kinds; ignored for experts.
    """
    _check_mode(kind, ResourceKind, "kind")
    target = _check_crs(crs)
    if kind == "expert":
        from riskmap.geo.resources import experts

        return pd.DataFrame(experts(conn))
    if kind == "shelter":
        return _geoframe(_frame(conn, "shelters.sql"), target)
    if kind == "team":
        return _geoframe(_frame(conn, "teams.sql"), target)
    houses = _geoframe(_frame(conn, "warehouses.sql"), target)
    items = stock(conn).pivot(index="warehouse_id", columns="item", values="quantity")
    items = items.add_prefix("stock_").reindex(houses["id"]).fillna(0.0).reset_index(drop=True)
    return gpd.GeoDataFrame(pd.concat([houses.drop(columns="geometry"), items], axis=1),
                            geometry=houses.geometry.to_numpy(), crs=houses.crs)  # fmt: skip


# -- hydrology ------------------------------------------------------------------------------------


def stations(conn: psycopg.Connection, *, crs: CrsLike | None = None) -> gpd.GeoDataFrame:
    """Hydrological stations (ST_STBPRP_B) with the latest stage or reservoir level
    (``latest_level`` at ``latest_tm``) next to the levels it is judged by: ``warning_level``
    (警戒水位), ``guarantee_level`` (保证水位) and ``flood_limit_level`` (汛限水位 of the
    season of the latest reading); NaN where a station has none."""
    target = _check_crs(crs)
    return _geoframe(_frame(conn, "stations.sql"), target)


def observations(
    conn: psycopg.Connection,
    stcd: str | Sequence[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    *,
    kind: ObservationKind = "rain",
) -> pd.DataFrame:
    """Station observations in (since, until]: ``"rain"`` (ST_PPTN_R: drp mm over intv
    hours), ``"river"`` (ST_RIVER_R: stage z, flow q) or ``"reservoir"`` (ST_RSVR_R: level rz,
    inflow, outflow, storage). ``tm`` is the end of the period, UTC."""
    _check_mode(kind, ObservationKind, "kind")
    params = {
        "stcd": _codes(stcd),
        "since": _utc(since, "since"),
        "until": _utc(until, "until"),
    }
    return _frame(conn, f"obs_{kind}.sql", params)


# -- warnings -------------------------------------------------------------------------------------


def warnings(
    conn: psycopg.Connection, status: WarningStatus = "all", *, crs: CrsLike | None = None
) -> gpd.GeoDataFrame:
    """Warnings raised by the rules, one row each with its area, every CAP version
    (``versions``: list of dicts) and the evidence of its current version (``evidence``: the
    rule, time and per-village numbers that fired it).

    Parameters
    ----------
    status : ``"issued"`` (in force) or ``"all"`` (candidates, rejected, cancelled, expired).
    """
    from riskmap.geo.warnings.lifecycle import get_warning

    _check_mode(status, WarningStatus, "status")
    target = _check_crs(crs)
    ids = _frame(conn, "warnings.sql", {"status": None if status == "all" else status})["id"]
    rows = []
    for warning_id in ids:
        row = get_warning(conn, int(warning_id))
        current = next(v for v in row["versions"] if v["version"] == row["current_version"])
        row["evidence"] = current["evidence"]
        rows.append(row)
    if not rows:
        return gpd.GeoDataFrame({"id": []}, geometry=[], crs=STORED_CRS)
    frame = _times_in_utc(pd.DataFrame(rows))
    geometry = [shapely.geometry.shape(g) for g in frame.pop("geometry")]
    gdf = gpd.GeoDataFrame(frame, geometry=geometry, crs=STORED_CRS)
    return gdf if target is None else gdf.to_crs(target)


# -- rain -----------------------------------------------------------------------------------------


def village_rain(
    conn: psycopg.Connection,
    codes: str | Sequence[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    *,
    product: RainProduct = "qpe",
) -> pd.DataFrame:
    """Rain per village and period (hourly for the radar analyses) as the rules read it: the
    coverage-weighted mean and the maximum (mm) of the grid cells over the village, for
    periods inside [since, until]. ``product``: ``"qpe"`` analyses, ``"qpf"`` forecasts (one
    row per issue) or ``"gauge"`` (interpolated from rain gauges)."""
    _check_mode(product, RainProduct, "product")
    params = {
        "codes": _codes(codes),
        "since": _utc(since, "since"),
        "until": _utc(until, "until"),
        "product": product,
    }
    return _frame(conn, "village_rain.sql", params)


def rain_grid(
    conn: psycopg.Connection, at: datetime | None = None, *, product: GridProduct = "qpe"
) -> xr.DataArray:
    """The catalogued rain grid (mm) of the period ending at or before ``at`` (None: the
    latest), read from its file with the service's readers (units and nodata as the village
    rain sees them).

    The CRS travels CF-style: a scalar ``spatial_ref`` coordinate whose ``crs_wkt`` (and
    GDAL's ``spatial_ref``) attribute holds the WKT, named by the array's ``grid_mapping``;
    ``x``/``y`` are cell centres, north up. Times are in ``attrs`` as UTC ISO strings.
    """
    _check_mode(product, GridProduct, "product")
    found = _frame(conn, "rain_grid.sql", {"product": product, "at": _utc(at, "at")})
    if found.empty:
        when = f" ending by {at.isoformat()}" if at else ""
        raise NotFoundError(f"no {product} rainfall grid{when} in the catalogue")
    return _grid_array(found.iloc[0])


def _grid_array(ref: pd.Series) -> xr.DataArray:
    from pathlib import Path

    from riskmap.geo.grids.geotiff import read_geotiff
    from riskmap.geo.grids.netcdf import read_netcdf
    from riskmap.geo.grids.units import to_mm

    path = Path(ref["path"])
    if not path.exists():
        raise NotFoundError(f"grid file {path} is catalogued but missing from the data store")
    reader = read_geotiff if path.suffix.lower() in (".tif", ".tiff") else read_netcdf
    mm, _ = to_mm(reader(path).read(int(ref["step"])), float(ref["to_mm"]))
    a, _b, c, _d, e, f = (float(v) for v in ref["transform"])
    height, width = int(ref["height"]), int(ref["width"])
    crs = CRS.from_wkt(ref["crs"])
    x = c + a * (np.arange(width) + 0.5)
    y = f + e * (np.arange(height) + 0.5)
    axes = {_axis_of(attrs): attrs for attrs in crs.cs_to_cf()}
    grid_mapping = {**crs.to_cf(), "crs_wkt": crs.to_wkt(), "spatial_ref": crs.to_wkt()}
    times = {k: ref[k].isoformat() for k in ("valid_start", "valid_end", "issued_at")}
    return xr.DataArray(
        mm,
        dims=("y", "x"),
        coords={
            "y": ("y", y, axes.get("Y", {})),
            "x": ("x", x, axes.get("X", {})),
            "spatial_ref": ((), 0, grid_mapping),
        },
        name="rain",
        attrs={
            "units": "mm",
            "long_name": f"{ref['product']} rainfall over the period",
            "grid_mapping": "spatial_ref",
            "product": ref["product"],
            "grid_file": ref["id"],
            "source": str(path),
            **times,
        },
    )


def _axis_of(attrs: dict[str, Any]) -> str:
    """ "X" or "Y" for a CF coordinate description (geographic ones carry no ``axis``)."""
    if attrs.get("axis") in ("X", "Y"):
        return attrs["axis"]
    return "X" if attrs.get("standard_name") in ("longitude", "projection_x_coordinate") else "Y"
