"""Planner exports read back with pyogrio, geopandas and rasterio; the COG checked by rio-cogeo."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pyogrio
import pytest
import rasterio
import shapely
import xarray as xr
from affine import Affine
from rio_cogeo.cogeo import cog_validate

from riskmap.geo.planner.export import (
    ExportError,
    ExportTypeError,
    to_cog,
    to_geopackage,
    to_geoparquet,
)

TRANSFORM = Affine(0.01, 0.0, 109.5, 0.0, -0.01, 26.9)


@pytest.fixture
def frame() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": ["431226101201", "431226101202", "431226102201"], "people": [812, 0, 1534]},
        geometry=[shapely.box(109.7, 26.8, 109.71, 26.81), shapely.Point(109.8, 26.7), None],
        crs="EPSG:4326",
    )


def _same(back: gpd.GeoDataFrame, frame: gpd.GeoDataFrame) -> None:
    assert back.crs == frame.crs
    pd.testing.assert_frame_equal(
        pd.DataFrame(back.drop(columns="geometry")), pd.DataFrame(frame.drop(columns="geometry"))
    )
    assert list(back.geometry.is_empty | back.geometry.isna()) == [False, False, True]
    assert back.geometry.iloc[:2].geom_equals_exact(frame.geometry.iloc[:2], 1e-12).all()


def test_geopackage_one_layer_reads_back(tmp_path, frame):
    out = to_geopackage(frame, tmp_path / "villages.gpkg")
    assert [name for name, _ in pyogrio.list_layers(out)] == ["villages"]
    _same(gpd.read_file(out, engine="pyogrio"), frame)


def test_geopackage_layers_and_overwrite(tmp_path, frame):
    path = tmp_path / "plan.gpkg"
    to_geopackage({"a": frame, "b": frame.iloc[:1]}, path)
    assert sorted(name for name, _ in pyogrio.list_layers(path)) == ["a", "b"]
    assert len(gpd.read_file(path, layer="b")) == 1
    with pytest.raises(ExportError, match="exists; pass overwrite=True"):
        to_geopackage(frame, path)
    to_geopackage(frame, path, layer="only", overwrite=True)
    assert [name for name, _ in pyogrio.list_layers(path)] == ["only"]
    with pytest.raises(ExportError, match="mapping's keys name layers"):
        to_geopackage({"a": frame}, tmp_path / "x.gpkg", layer="a")


def test_geoparquet_reads_back(tmp_path, frame):
    out = to_geoparquet(frame.to_crs("EPSG:4549"), tmp_path / "villages.parquet")
    back = gpd.read_parquet(out)
    assert back.crs == "EPSG:4549"
    _same(back.to_crs(4326), frame)
    # GeoParquet metadata as any reader finds it (pyogrio's wheel GDAL has no Parquet driver)
    geo = json.loads(pq.read_schema(out).metadata[b"geo"])
    assert geo["primary_column"] == "geometry" and geo["version"].startswith("1.")
    assert geo["columns"]["geometry"]["encoding"] == "WKB"


@pytest.mark.parametrize("writer", [to_geopackage, to_geoparquet])
def test_frames_validated(tmp_path, frame, writer):
    with pytest.raises(ExportError, match="has no CRS"):
        writer(frame.set_crs(None, allow_override=True), tmp_path / "a")
    with pytest.raises(ExportError, match="is empty"):
        writer(frame.iloc[:0], tmp_path / "b")
    with pytest.raises(ExportTypeError, match="must be a GeoDataFrame, not DataFrame"):
        writer(pd.DataFrame(frame.drop(columns="geometry")), tmp_path / "c")
    with pytest.raises(ExportError, match="does not exist"):
        writer(frame, tmp_path / "no" / "such.file")
    assert not list(tmp_path.iterdir())


def test_parquet_compression_is_a_literal(tmp_path, frame):
    with pytest.raises(ValueError, match="compression must be one of 'zstd', 'snappy'"):
        to_geoparquet(frame, tmp_path / "x.parquet", compression="brotli")


def test_cog_from_array_is_valid_and_reads_back(tmp_path):
    rain = np.random.default_rng(7).gamma(2.0, 10.0, size=(700, 600)).astype("float32")
    rain[:5, :5] = np.nan
    out = to_cog(rain, tmp_path / "rain.tif", transform=TRANSFORM, crs="EPSG:4326")
    valid, errors, _ = cog_validate(out)
    assert valid, errors
    with rasterio.open(out) as src:
        assert src.driver == "GTiff" and src.count == 1 and src.crs.to_epsg() == 4326
        assert src.transform.almost_equals(TRANSFORM)
        assert src.profile["compress"] == "deflate" and src.profile["tiled"]
        assert src.overviews(1)  # internal overviews
        back = src.read(1)
        assert np.isnan(src.nodata)
    np.testing.assert_array_equal(back, rain)


def test_cog_from_dataarray_takes_its_crs_and_coordinates(tmp_path):
    ys = 26.9 - 0.01 * (np.arange(40) + 0.5)
    xs = 109.5 + 0.01 * (np.arange(30) + 0.5)
    classes = np.arange(40 * 30, dtype="uint8").reshape(40, 30) % 5
    da = xr.DataArray(classes, coords={"y": ys, "x": xs}, dims=("y", "x"))
    wkt = rasterio.crs.CRS.from_epsg(4326).to_wkt()
    da = da.assign_coords(spatial_ref=xr.DataArray(0, attrs={"crs_wkt": wkt}))
    out = to_cog(da, tmp_path / "risk.tif", compression="zstd", nodata=255)
    assert cog_validate(out)[0]
    with rasterio.open(out) as src:
        assert src.transform.almost_equals(TRANSFORM)
        assert src.nodata == 255 and src.dtypes[0] == "uint8"
        np.testing.assert_array_equal(src.read(1), classes)
    with pytest.raises(ExportError, match="differs from the DataArray's"):
        to_cog(da, tmp_path / "x.tif", crs="EPSG:4549")


def test_cog_inputs_validated(tmp_path):
    grid = np.zeros((4, 4), dtype="float32")
    with pytest.raises(ExportError, match="no CRS"):
        to_cog(grid, tmp_path / "a.tif", transform=TRANSFORM)
    with pytest.raises(ExportError, match="no geotransform"):
        to_cog(grid, tmp_path / "a.tif", crs=4326)
    with pytest.raises(ExportError, match="not a CRS"):
        to_cog(grid, tmp_path / "a.tif", crs="EPSG:nope", transform=TRANSFORM)
    with pytest.raises(ExportError, match=r"2-D .* or 3-D"):
        to_cog(np.zeros(4), tmp_path / "a.tif", crs=4326, transform=TRANSFORM)
    with pytest.raises(ExportTypeError, match="not list"):
        to_cog([[1.0]], tmp_path / "a.tif", crs=4326, transform=TRANSFORM)
    with pytest.raises(ValueError, match="compression must be one of 'deflate', 'lzw', 'zstd'"):
        to_cog(grid, tmp_path / "a.tif", crs=4326, transform=TRANSFORM, compression="jpeg")
    assert not list(tmp_path.iterdir())
