"""Files a planner's other tools open: GeoPackage, GeoParquet and cloud-optimised GeoTIFF.

Each function checks its input first (a non-empty GeoDataFrame with a CRS; a 2-D or 3-D grid
with a CRS and a geotransform) and raises :class:`ExportError` naming the problem, then hands
the writing to the library that owns the format: pyogrio (GeoPackage), pyarrow through geopandas
(GeoParquet) and GDAL's own ``COG`` driver through rasterio (Cloud-Optimised GeoTIFF, tiled,
with internal overviews; the dev dependency rio-cogeo validates the result in the tests).
"""

from __future__ import annotations

from collections.abc import Mapping
from os import PathLike
from pathlib import Path
from typing import Literal, get_args

import geopandas as gpd
import numpy as np
import xarray as xr
from affine import Affine
from pyproj import CRS
from pyproj.exceptions import CRSError

from riskmap.geo.errors import InvalidArgumentError

Compression = Literal["deflate", "lzw", "zstd"]
ParquetCompression = Literal["zstd", "snappy", "gzip", "none"]
Resampling = Literal["nearest", "average", "bilinear"]


class ExportError(InvalidArgumentError):
    """The data cannot be exported as given; the message says what is missing or wrong."""


class ExportTypeError(ExportError, TypeError):
    """The data is not of a type the export accepts."""


def to_geopackage(
    data: gpd.GeoDataFrame | Mapping[str, gpd.GeoDataFrame],
    path: str | PathLike,
    layer: str | None = None,
    *,
    overwrite: bool = False,
) -> Path:
    """Write one GeoDataFrame, or several as named layers, to a GeoPackage.

    Parameters
    ----------
    data
        A GeoDataFrame, or a mapping of layer name → GeoDataFrame (one file, several layers).
    path
        The ``.gpkg`` file to write.
    layer
        Layer name for a single GeoDataFrame (default: the file's stem); not allowed with a
        mapping, whose keys name the layers.
    overwrite
        Replace an existing file; otherwise an existing file is an error.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    ExportError
        No CRS, no rows, no geometry column, a wrong type or an existing file.
    """
    out = _target(path, overwrite)
    if isinstance(data, Mapping):
        if layer is not None:
            raise ExportError("layer= names a single GeoDataFrame; a mapping's keys name layers")
        if not data:
            raise ExportError("no layers to write: the mapping is empty")
        layers = {str(k): _checked_frame(v, f"layer {k!r}") for k, v in data.items()}
    else:
        layers = {layer or out.stem: _checked_frame(data, "data")}
    out.unlink(missing_ok=True)
    for name, frame in layers.items():
        frame.to_file(out, layer=name, driver="GPKG", engine="pyogrio")
    return out


def to_geoparquet(
    gdf: gpd.GeoDataFrame,
    path: str | PathLike,
    *,
    compression: ParquetCompression = "zstd",
    overwrite: bool = False,
) -> Path:
    """Write a GeoDataFrame to GeoParquet (GeoParquet 1.x metadata, WKB geometry; pyarrow).

    Parameters
    ----------
    gdf
        A non-empty GeoDataFrame with a CRS.
    path
        The ``.parquet`` file to write.
    compression
        One of ``"zstd"``, ``"snappy"``, ``"gzip"`` or ``"none"``.
    overwrite
        Replace an existing file; otherwise an existing file is an error.

    Raises
    ------
    ExportError
        No CRS, no rows, a wrong type, an unknown compression or an existing file.
    """
    _check_mode("compression", compression, ParquetCompression)
    frame = _checked_frame(gdf, "gdf")
    out = _target(path, overwrite)
    try:
        import pyarrow  # noqa: F401  (a clear message rather than geopandas' ImportError)
    except ImportError as exc:  # pragma: no cover - pyarrow is a runtime dependency
        raise ExportError("GeoParquet needs pyarrow: pip install 'pyarrow>=15'") from exc
    frame.to_parquet(out, compression=None if compression == "none" else compression)
    return out


def to_cog(
    data: xr.DataArray | np.ndarray,
    path: str | PathLike,
    *,
    transform: Affine | None = None,
    crs: CRS | str | int | None = None,
    nodata: float | None = None,
    compression: Compression = "deflate",
    resampling: Resampling = "nearest",
    blocksize: int = 512,
    overwrite: bool = False,
) -> Path:
    """Write a grid as a Cloud-Optimised GeoTIFF with GDAL's ``COG`` driver.

    Parameters
    ----------
    data
        A 2-D ``(y, x)`` or 3-D ``(band, y, x)`` array. A DataArray brings its own CRS (attribute
        ``crs``, or a ``spatial_ref`` coordinate with ``crs_wkt``) and geotransform (attribute
        ``transform``, else regular ``x``/``y`` or ``lon``/``lat`` coordinates, cell centres); a
        numpy array needs ``transform`` and ``crs``.
    path
        The ``.tif`` file to write.
    transform, crs
        The grid's geotransform and CRS; given with a DataArray that has its own, they must agree
        with it (a mismatch raises rather than putting the grid in the wrong place).
    nodata
        The no-data value; default the DataArray's ``_FillValue``/``nodata`` attribute, else NaN
        for float grids and none for integer grids.
    compression
        ``"deflate"``, ``"lzw"`` or ``"zstd"``.
    resampling
        How the overviews are computed: ``"nearest"`` (classes, counts), ``"average"`` or
        ``"bilinear"`` (continuous fields such as rain).
    blocksize
        Tile size in pixels (a power of two, 128–4096).
    overwrite
        Replace an existing file; otherwise an existing file is an error.

    Raises
    ------
    ExportError
        Wrong type or shape, no CRS, no geotransform, a CRS or transform mismatch, an unknown mode.
    """
    _check_mode("compression", compression, Compression)
    _check_mode("resampling", resampling, Resampling)
    if blocksize not in (128, 256, 512, 1024, 2048, 4096):
        raise ExportError(f"blocksize must be a power of two from 128 to 4096, not {blocksize}")
    values, grid_crs, grid_transform, grid_nodata = _grid(data, transform, crs)
    out = _target(path, overwrite)
    if nodata is None:
        nodata = grid_nodata
    if nodata is None and np.issubdtype(values.dtype, np.floating):
        nodata = float("nan")
    _write_cog(out, values, grid_crs, grid_transform, nodata, compression, resampling, blocksize)
    return out


# -- checks ------------------------------------------------------------------------------------


def _check_mode(name: str, value: str, allowed: object) -> None:
    options = get_args(allowed)
    if value not in options:
        raise ExportError(f"{name} must be one of {', '.join(map(repr, options))}, not {value!r}")


def _checked_frame(gdf: object, what: str) -> gpd.GeoDataFrame:
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise ExportTypeError(f"{what} must be a GeoDataFrame, not {type(gdf).__name__}")
    if gdf._geometry_column_name not in gdf.columns:
        raise ExportError(f"{what} has no active geometry column (set one with set_geometry)")
    if gdf.crs is None:
        raise ExportError(f"{what} has no CRS: set it with .set_crs(...) before exporting")
    if gdf.empty:
        raise ExportError(f"{what} is empty: nothing to export")
    return gdf


def _target(path: str | PathLike, overwrite: bool) -> Path:
    out = Path(path)
    if out.exists() and not overwrite:
        raise ExportError(f"{out} exists; pass overwrite=True to replace it")
    if not out.parent.is_dir():
        raise ExportError(f"folder {out.parent} does not exist")
    return out


def _as_crs(value: object, what: str) -> CRS:
    try:
        return CRS.from_user_input(value)
    except CRSError as exc:
        raise ExportError(f"{what} is not a CRS: {value!r}") from exc


def _grid(
    data: object, transform: Affine | None, crs: object
) -> tuple[np.ndarray, CRS, Affine, float | None]:
    """Values as (band, y, x), and the grid's CRS, transform and nodata, checked."""
    if isinstance(data, xr.DataArray):
        values = np.asarray(data.values)
        own_crs, own_transform = _dataarray_crs(data), _dataarray_transform(data)
        attrs = data.attrs
        nodata = attrs.get("_FillValue", attrs.get("nodata"))
    elif isinstance(data, np.ndarray):
        values, own_crs, own_transform, nodata = data, None, None, None
    else:
        raise ExportTypeError(f"data must be an xarray.DataArray or numpy array, not "
                              f"{type(data).__name__}")  # fmt: skip
    if values.ndim not in (2, 3) or 0 in values.shape:
        raise ExportError(f"data must be a non-empty 2-D (y, x) or 3-D (band, y, x) grid, "
                          f"not shape {values.shape}")  # fmt: skip
    if values.dtype == bool:
        values = values.astype(np.uint8)
    if not np.issubdtype(values.dtype, np.number):
        raise ExportError(f"data must be numeric, not {values.dtype}")
    given = None if crs is None else _as_crs(crs, "crs")
    if given is not None and own_crs is not None and given != own_crs:
        raise ExportError(f"crs {given.to_string()} differs from the DataArray's "
                          f"{own_crs.to_string()}")  # fmt: skip
    grid_crs = given or own_crs
    if grid_crs is None:
        raise ExportError("the grid has no CRS: pass crs= (e.g. 'EPSG:4326') or set "
                          "DataArray.attrs['crs']")  # fmt: skip
    if transform is not None and not isinstance(transform, Affine):
        raise ExportTypeError(f"transform must be an affine.Affine, not {type(transform).__name__}")
    both = transform is not None and own_transform is not None
    if both and not transform.almost_equals(own_transform):
        raise ExportError(f"transform {tuple(transform)[:6]} differs from the DataArray's "
                          f"{tuple(own_transform)[:6]}")  # fmt: skip
    grid_transform = transform or own_transform
    if grid_transform is None:
        raise ExportError("the grid has no geotransform: pass transform= (affine.Affine) or "
                          "give the DataArray regular x/y coordinates")  # fmt: skip
    if values.ndim == 2:
        values = values[np.newaxis]
    return values, grid_crs, grid_transform, None if nodata is None else float(nodata)


def _dataarray_crs(da: xr.DataArray) -> CRS | None:
    if da.attrs.get("crs") is not None:
        return _as_crs(da.attrs["crs"], "DataArray.attrs['crs']")
    if "spatial_ref" in da.coords:
        ref = da.coords["spatial_ref"].attrs
        wkt = ref.get("crs_wkt") or ref.get("spatial_ref")
        if wkt:
            return _as_crs(wkt, "the spatial_ref coordinate")
    return None


def _dataarray_transform(da: xr.DataArray) -> Affine | None:
    """From attrs['transform'] (6 or 9 numbers), else regular x/y (lon/lat) cell centres."""
    if da.attrs.get("transform") is not None:
        return Affine(*list(da.attrs["transform"])[:6])
    dims = da.dims[-2:]
    if len(dims) < 2 or dims[0] not in da.coords or dims[1] not in da.coords:
        return None
    ys, xs = (np.asarray(da.coords[d].values, dtype=float) for d in dims)
    if len(xs) < 2 or len(ys) < 2:
        return None
    dx, dy = np.diff(xs), np.diff(ys)
    if not (np.allclose(dx, dx[0]) and np.allclose(dy, dy[0])):
        raise ExportError(f"coordinates {dims} are not regularly spaced: pass transform=")
    return Affine(dx[0], 0.0, xs[0] - dx[0] / 2, 0.0, dy[0], ys[0] - dy[0] / 2)


# -- writing -----------------------------------------------------------------------------------


def _write_cog(
    out: Path,
    values: np.ndarray,
    crs: CRS,
    transform: Affine,
    nodata: float | None,
    compression: str,
    resampling: str,
    blocksize: int,
) -> None:
    import rasterio

    bands, height, width = values.shape
    profile = {
        "driver": "COG",
        "width": width,
        "height": height,
        "count": bands,
        "dtype": values.dtype.name,
        "crs": rasterio.crs.CRS.from_wkt(crs.to_wkt()),
        "transform": transform,
        "nodata": nodata,
        "compress": compression.upper(),
        "blocksize": blocksize,
        "overview_resampling": resampling,
        "BIGTIFF": "IF_SAFER",
    }
    with rasterio.open(out, "w", **profile) as dst:  # COG is copy-only: rasterio buffers it
        dst.write(values)
