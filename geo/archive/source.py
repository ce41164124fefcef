"""An archive of hourly rain grids opened lazily as one Dask array on a regular hourly timeline.

Files are CF-NetCDF, GeoTIFF (one band per hour, periods told by tags or the file name, as the
feeds read them) or Zarr stores, found by a directory or a glob. Each file's periods are read
from its header (the same rules as the grid feeds: CF time bounds, or equally spaced times as
period ends), every period must be one hour, and every file must share the first file's grid;
otherwise a :class:`~riskmap.geo.errors.DataError` names the file. Hours no file covers are NaN
(missing), so a window over them is not counted downstream.
"""

from __future__ import annotations

import glob
import itertools
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from affine import Affine
from pyproj import CRS

from riskmap.geo.errors import DataError
from riskmap.geo.grids.model import GridReadError, canonical_crs
from riskmap.geo.grids.netcdf import (
    RAIN_NAMES,
    RAIN_STANDARD_NAMES,
    _axis_kind,
    _grid_crs,
    grid_transform,
)
from riskmap.geo.grids.netcdf_times import REFERENCE_NAMES, netcdf_periods
from riskmap.geo.grids.tags import to_utc

HOUR = timedelta(hours=1)
NETCDF_SUFFIXES = {".nc", ".nc4", ".netcdf", ".cdf"}
TIFF_SUFFIXES = {".tif", ".tiff"}


@dataclass
class Piece:
    """One file's hours: their ends (UTC, naive datetime64[s]) and values (lazy, north-up)."""

    path: Path
    ends: np.ndarray
    data: object  # dask array (hours, height, width), float
    crs: CRS
    transform: Affine
    shape: tuple[int, int]


@dataclass
class Archive:
    """The archive on its hourly timeline: ``data[i]`` is the hour ending at ``ends[i]``."""

    crs: CRS
    transform: Affine
    shape: tuple[int, int]
    ends: np.ndarray  # datetime64[s], UTC, every hour from start to end
    data: object  # dask array (hours, height, width), float64, NaN where missing
    files: list[Path]
    present: int  # hours some file covers


def find_files(pattern: str | Path) -> list[Path]:
    """The grid files of a directory (NetCDF, GeoTIFF, Zarr stores) or of a glob, sorted."""
    p = Path(pattern)
    if p.is_dir() and p.suffix != ".zarr":
        found = [q for q in p.iterdir() if _kind(q)]
    else:
        found = [Path(q) for q in glob.glob(str(pattern)) if _kind(Path(q))]
    if not found:
        raise DataError(f"{pattern}: no NetCDF, GeoTIFF or Zarr files found")
    return sorted(found)


def _kind(path: Path) -> str | None:
    if path.name.startswith("."):
        return None
    suffix = path.suffix.lower()
    if suffix == ".zarr" and path.is_dir():
        return "zarr"
    if suffix in NETCDF_SUFFIXES and path.is_file():
        return "netcdf"
    if suffix in TIFF_SUFFIXES and path.is_file():
        return "geotiff"
    return None


def _grid_of_dataset(ds, name: str):
    """(rain variable, time dim, y dim, x dim, crs, transform, y ascending, x ascending)."""
    candidates = [
        n
        for n, v in ds.data_vars.items()
        if str(v.attrs.get("standard_name", "")).lower() in RAIN_STANDARD_NAMES
        or n.lower() in RAIN_NAMES
    ]
    if not candidates:
        raise DataError(
            f"{name}: no rainfall variable (precipitation standard_name or a name such as"
            f" precipitation, pr, tp); variables: {sorted(map(str, ds.data_vars))}"
        )
    vname = min(
        candidates, key=lambda n: RAIN_NAMES.index(n.lower()) if n.lower() in RAIN_NAMES else 99
    )
    var = ds[vname]
    kinds = {}
    for dim in var.dims:
        kind = _axis_kind(dim, ds[dim] if dim in ds.variables else None)
        if kind:
            kinds[dim] = kind
    xdim = next((d for d, k in kinds.items() if k in ("lon", "x")), None)
    ydim = next((d for d, k in kinds.items() if k in ("lat", "y")), None)
    tdim = next((d for d, k in kinds.items() if k == "time"), None)
    if xdim is None or ydim is None or tdim is None:
        raise DataError(f"{name}: variable {vname}: needs time, latitude/y and longitude/x dims")
    extra = [d for d in var.dims if d not in (tdim, ydim, xdim)]
    if any(ds.sizes[d] != 1 for d in extra):
        raise DataError(f"{name}: variable {vname}: extra dimensions {extra} are not supported")
    crs = canonical_crs(_grid_crs(ds, var, kinds, f"{name}: variable {vname}"))
    transform, (height, width), y_up, x_up = grid_transform(ds, xdim, ydim, name)
    return vname, tdim, ydim, xdim, extra, crs, transform, (height, width), y_up, x_up


def _open_xarray(path: Path, kind: str) -> Piece:
    import xarray as xr

    name = path.name
    try:
        if kind == "zarr":
            ds = xr.open_zarr(path, decode_times=False, consolidated=(path / ".zmetadata").exists())
        else:
            ds = xr.open_dataset(path, decode_times=False, engine="netcdf4")
    except (OSError, ValueError, KeyError) as exc:
        raise DataError(f"{name}: cannot be opened as {kind}: {exc}") from exc
    vname, tdim, ydim, xdim, extra, crs, transform, shape, y_up, x_up = _grid_of_dataset(ds, name)
    ends = _bounded_hour_ends(ds, tdim, name)
    if ends is None:  # no bounds, forecasts, odd units: the feeds' full rules
        attrs = {k.upper(): str(v) for k, v in ds.attrs.items()}
        periods = netcdf_periods(ds, ds[vname], tdim, None, attrs, name)
        ends = _hourly_ends(periods, name)
    if kind == "netcdf":
        dims = tuple(ds[vname].dims)
        ds.close()
        arr = _netcdf_slabs(path, vname, dims, (tdim, ydim, xdim), len(ends), shape)
    else:
        arr = ds[vname].isel({d: 0 for d in extra}).transpose(tdim, ydim, xdim).data
    if y_up:
        arr = arr[:, ::-1, :]
    if not x_up:
        arr = arr[:, :, ::-1]
    return Piece(path, ends, arr.astype(np.float64), crs, transform, shape)


def _netcdf_slabs(
    path: Path, vname: str, dims: tuple[str, ...], tyx: tuple[str, str, str], n: int, shape
):
    """The rain of a NetCDF file as a dask array of month-long slabs, each read by opening the
    file, reading and closing it. (xarray's lazy arrays keep files open, and each open file
    keeps HDF5's cache of decompressed chunks: a worker's memory would grow with the archive.)
    """
    import dask
    import dask.array as da

    read = dask.delayed(_read_netcdf_slab, pure=True)
    slabs = [
        da.from_delayed(
            read(str(path), vname, dims, tyx, t0, min(n, t0 + 744)),
            shape=(min(n, t0 + 744) - t0, *shape),
            dtype=np.float64,
        )
        for t0 in range(0, n, 744)
    ]
    return da.concatenate(slabs, axis=0)


def _read_netcdf_slab(
    path: str, vname: str, dims: tuple[str, ...], tyx: tuple[str, str, str], t0: int, t1: int
) -> np.ndarray:
    """Hours t0…t1 of the rain variable as (time, y, x) float64, NaN where fill or masked.

    Neither HDF5 nor netCDF-C is thread-safe: the read holds xarray's HDF5 lock, which
    xarray's own NetCDF reads in this process take too (threaded scheduler, an ingest beside)."""
    import netCDF4
    from xarray.backends.locks import HDF5_LOCK

    index = tuple(slice(t0, t1) if d == tyx[0] else slice(None) if d in tyx else 0 for d in dims)
    with HDF5_LOCK, netCDF4.Dataset(path) as nc:
        var = nc.variables[vname]
        var.set_auto_maskandscale(True)
        raw = var[index]
    kept = [d for d in dims if d in tyx]
    values = np.ma.filled(np.ma.asarray(raw, dtype=np.float64), np.nan)
    return np.transpose(values, [kept.index(d) for d in tyx])


def _open_geotiff(path: Path) -> Piece:
    import dask
    import dask.array as da

    from riskmap.geo.grids.geotiff import read_geotiff

    try:
        grid = read_geotiff(path)
    except GridReadError as exc:
        raise DataError(str(exc)) from exc
    ends = _hourly_ends(grid.periods, path.name)
    read = dask.delayed(grid.read, pure=True)
    bands = [
        da.from_delayed(read(p.index), shape=grid.shape, dtype=np.float64) for p in grid.periods
    ]
    return Piece(path, ends, da.stack(bands), grid.crs, grid.transform, grid.shape)


def _bounded_hour_ends(ds, tdim: str, name: str) -> np.ndarray | None:
    """Hour ends from CF time bounds, vectorised (an archive's usual layout; a decade of
    hourly steps costs seconds as Period objects); None when the general rules must decide."""
    coord = ds[tdim]
    bname = coord.attrs.get("bounds")
    if not bname or bname not in ds.variables or any(r in ds.variables for r in REFERENCE_NAMES):
        return None
    units = str(coord.attrs.get("units", ""))
    m = re.fullmatch(r"\s*(hours?|h|minutes?|min|seconds?|s|days?)\s+since\s+(.+?)\s*", units)
    calendar = str(coord.attrs.get("calendar", "standard")).strip().lower()
    if m is None or calendar not in {"", "standard", "gregorian", "proleptic_gregorian"}:
        return None
    seconds = {"h": 3600, "m": 60, "s": 1, "d": 86400}[m.group(1)[0]]
    ref_text = re.sub(r"\s*(UTC|GMT|Z)$", "", m.group(2).strip(), flags=re.IGNORECASE)
    ref = np.datetime64(_naive(to_utc(ref_text, "time reference", name)), "s")
    raw = np.asarray(ds[bname].values, dtype=np.float64) * seconds
    if raw.ndim != 2 or raw.shape[1] != 2 or not np.isfinite(raw).all():
        return None
    start = ref + np.round(raw[:, 0]).astype("timedelta64[s]")
    end = ref + np.round(raw[:, 1]).astype("timedelta64[s]")
    wrong = np.flatnonzero(end - start != np.timedelta64(3600, "s"))
    if wrong.size:
        i = int(wrong[0])
        raise DataError(
            f"{name}: time step {i + 1}: period {start[i]}Z–{end[i]}Z is not one hour"
            " (an archive holds hourly sums)"
        )
    return end


def _hourly_ends(periods, name: str) -> np.ndarray:
    for p in periods:
        if p.valid_end - p.valid_start != HOUR:
            raise DataError(
                f"{name}: {p.label}: period {p.valid_start:%Y-%m-%dT%H:%MZ}–"
                f"{p.valid_end:%Y-%m-%dT%H:%MZ} is not one hour (an archive holds hourly sums)"
            )
    return np.array([np.datetime64(p.valid_end.replace(tzinfo=None), "s") for p in periods])


def open_piece(path: Path) -> Piece:
    kind = _kind(path)
    if kind is None:
        raise DataError(f"{path}: not a NetCDF, GeoTIFF or Zarr file")
    try:
        return _open_geotiff(path) if kind == "geotiff" else _open_xarray(path, kind)
    except GridReadError as exc:
        raise DataError(str(exc)) from exc


def open_archive(
    pattern: str | Path, start: datetime, end: datetime, chunk_hours: int | None = None
) -> Archive:
    """The hours ending in (start, end] of every file of ``pattern``, chunked in time.

    ``start`` and ``end`` are aware datetimes. Hours covered twice take the first file's values
    (files sorted by name). Without ``chunk_hours`` the files' own time chunks are kept when
    they are a day to ~128 MB of float64 long (at most a month), else that size is made.
    """
    import dask.array as da

    files = find_files(pattern)
    pieces = [open_piece(f) for f in files]
    crs, transform, shape = pieces[0].crs, pieces[0].transform, pieces[0].shape
    for p in pieces[1:]:
        other_crs, other_tr, other_shape = p.crs, p.transform, p.shape
        same = (
            other_shape == shape
            and other_crs.equals(crs)
            and np.allclose(tuple(other_tr)[:6], tuple(transform)[:6], atol=1e-9)
        )
        if not same:
            raise DataError(
                f"{p.path.name}: grid differs from {pieces[0].path.name}'s"
                f" (shape {other_shape} vs {shape}, transform {tuple(other_tr)[:6]} vs"
                f" {tuple(transform)[:6]}); an archive has one grid"
            )
    t0 = np.datetime64(_naive(start), "s")
    t1 = np.datetime64(_naive(end), "s")
    n = int((t1 - t0) // np.timedelta64(3600, "s"))
    if n <= 0:
        raise DataError(f"empty period: {start.isoformat()} … {end.isoformat()}")
    ends = t0 + np.timedelta64(3600, "s") * np.arange(1, n + 1)
    index = np.full(n, -1, dtype=np.int64)  # position in the concatenation, -1 missing
    offset = 0
    for p in pieces:
        pos = (p.ends - t0) // np.timedelta64(3600, "s") - 1
        exact = (p.ends - t0) % np.timedelta64(3600, "s") == np.timedelta64(0, "s")
        ok = exact & (pos >= 0) & (pos < n)
        src = np.flatnonzero(ok)
        dst = pos[ok].astype(np.int64)
        free = index[dst] < 0
        index[dst[free]] = offset + src[free]
        offset += len(p.ends)
    present = int((index >= 0).sum())
    stacked = da.concatenate([p.data for p in pieces], axis=0)
    per_hour = shape[0] * shape[1] * 8
    target = int(min(24 * 31, max(24, 128e6 // per_hour)))
    if chunk_hours is not None and chunk_hours < 24:
        raise ValueError(
            f"chunk_hours must be at least 24 (a window reaches 23 h back), got {chunk_hours}"
        )
    parts = []  # runs of consecutive hours: a slice of the files, or NaN for a gap
    for lo, hi in _runs(index):
        if index[lo] < 0:
            parts.append(da.full((hi - lo, *shape), np.nan, dtype=np.float64, chunks=target))
        else:
            parts.append(stacked[index[lo] : index[lo] + hi - lo])
    data = da.concatenate(parts, axis=0)
    if chunk_hours is not None:
        data = data.rechunk((chunk_hours, -1, -1))
    elif max(data.chunks[0]) > target:
        data = data.rechunk((target, -1, -1))
    else:  # the files' own chunks (months) serve; shorter than a day: joined to the next
        merged: list[int] = []
        for c in data.chunks[0]:
            if merged and (merged[-1] < 24 or c < 24) and merged[-1] + c <= target:
                merged[-1] += c
            else:
                merged.append(c)
        if tuple(merged) != data.chunks[0]:
            data = data.rechunk((tuple(merged), -1, -1))
    return Archive(crs, transform, shape, ends, data, files, present)


def _runs(index: np.ndarray) -> list[tuple[int, int]]:
    """[lo, hi) runs of the timeline that are one gap or one consecutive stretch of files."""
    missing = index < 0
    step = np.diff(index)
    cut = (missing[1:] != missing[:-1]) | (~missing[1:] & (step != 1))
    edges = [0, *(np.flatnonzero(cut) + 1).tolist(), len(index)]
    return list(itertools.pairwise(edges))


def _naive(t: datetime) -> datetime:
    """UTC wall time without the zone (numpy datetime64 holds no zone)."""
    from datetime import UTC

    if t.tzinfo is None:
        raise ValueError(f"{t!r}: a time zone is needed")
    return t.astimezone(UTC).replace(tzinfo=None)
