"""Rainfall grids through the real pipeline into PostGIS: catalogue, village values, windows."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta
from pathlib import Path

import geopandas as gpd
import numpy as np
import psycopg
import pytest
import rasterio
import shapely
import xarray as xr
from affine import Affine
from exactextract import exact_extract
from exactextract.raster import NumPyRasterSource
from pyproj import CRS

from riskmap.geo import zonal_cache
from riskmap.geo.grids.units import parse_units, to_mm_factor
from riskmap.geo.grids.village_rain import SQL
from riskmap.ingest.pipeline import ingest_file
from tests.conftest import SHARED_DATA

RAIN = SHARED_DATA / "rain"
IMERG = RAIN / "gpm_imerg_3IMERGHH_V06B_subset_20200101.nc4"
ERA5 = RAIN / "era5_daily_cancities_1990-1993_cf19.nc"
KIND = "rain-grid"
# over Mayang (villages span lon ~109.4–109.95): the grid stops at 109.90, so eastern villages
# are only partly covered
LON0, LAT_TOP, CELL, NX, NY = 109.30, 28.10, 0.02, 30, 33
T0 = datetime(2026, 7, 1, 12, tzinfo=UTC)


@pytest.fixture
def db(db_url: str, mayang):
    with psycopg.connect(db_url) as conn:
        yield conn
        conn.rollback()
        conn.execute(
            "DELETE FROM village_rain WHERE source_ref IN (SELECT id FROM grid_file)"
            " OR valid_start >= '2031-01-01'"
        )
        conn.execute("DELETE FROM grid_file")
        conn.execute("DELETE FROM grid_definition")
        conn.execute("DELETE FROM ingest_log WHERE kind = %s", (KIND,))
        conn.commit()


def villages(conn: psycopg.Connection) -> gpd.GeoDataFrame:
    rows = conn.execute(
        "SELECT code, ST_AsBinary(geom) FROM admin_unit WHERE level = 'village'"
        " AND gb2260 = '431226' ORDER BY code"
    ).fetchall()
    return gpd.GeoDataFrame(
        {"code": [r[0] for r in rows]}, geometry=shapely.from_wkb([r[1] for r in rows]), crs=4326
    )


def stored_rain(conn: psycopg.Connection, valid_start: datetime) -> dict[str, tuple]:
    rows = conn.execute(
        "SELECT village_code, mean_mm, max_mm, coverage FROM village_rain"
        " WHERE valid_start = %s AND source_ref IN (SELECT id FROM grid_file)",
        (valid_start,),
    ).fetchall()
    return {r[0]: r[1:] for r in rows}


def exact(values: np.ndarray, transform: Affine, crs: CRS, frame: gpd.GeoDataFrame, op: str):
    h, w = values.shape
    raster = NumPyRasterSource(
        np.ma.masked_invalid(values),
        transform.c,
        transform.f + transform.e * h,
        transform.c + transform.a * w,
        transform.f,
        srs_wkt=crs.to_wkt(),
    )
    out = exact_extract(raster, frame.to_crs(crs), [op], output="pandas")
    return out.iloc[:, 0].to_numpy(dtype=float)


def field(seed: int, shape=(NY, NX), scale: float = 10.0) -> np.ndarray:
    """A north-up rain field: a smooth storm plus noise (mm)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    storm = scale * np.exp(-(((xx - shape[1] * 0.6) ** 2 + (yy - shape[0] * 0.4) ** 2) / 60.0))
    return storm + rng.gamma(1.5, 0.5, shape)


def ll_coords() -> tuple[np.ndarray, np.ndarray]:
    lon = LON0 + CELL * (np.arange(NX) + 0.5)
    lat = LAT_TOP - CELL * (np.arange(NY) + 0.5)  # north-up
    return lon, lat


def write_qpe_netcdf(path: Path, fields: list[np.ndarray], units: str = "mm", **kw) -> Path:
    """Hourly analyses ending T0+1h, T0+2h…; latitude ASCENDING (rows flipped) with bounds."""
    lon, lat = ll_coords()
    ends = np.array([(T0 + timedelta(hours=i + 1)).timestamp() for i in range(len(fields))])
    data = np.stack([f[::-1, :] for f in fields]).astype(np.float32)
    ds = xr.Dataset(
        {
            "precipitation": (
                ("time", "lat", "lon"),
                data,
                {"units": units, "standard_name": "precipitation_amount", "_FillValue": -9999.0},
            ),
            "time_bnds": (("time", "nv"), np.column_stack([ends - 3600, ends])),
        },
        coords={
            "time": (
                "time",
                ends,
                {
                    "units": "seconds since 1970-01-01 00:00:00",
                    "bounds": "time_bnds",
                    "calendar": kw.pop("calendar", "standard"),
                },
            ),
            "lat": ("lat", lat[::-1], {"units": "degrees_north", "standard_name": "latitude"}),
            "lon": ("lon", lon, {"units": "degrees_east", "standard_name": "longitude"}),
        },
        attrs={"Conventions": "CF-1.8"},
    )
    ds.to_netcdf(path, encoding={"time": {"dtype": "float64"}})
    return path


def test_units_are_understood_or_refused() -> None:
    assert to_mm_factor("mm", 3600) == 1
    assert to_mm_factor("kg m-2", 3600) == 1
    assert to_mm_factor("m", 3600) == 1000
    assert to_mm_factor("mm/hr", 1800) == 0.5
    assert to_mm_factor("mm hr-1", 3 * 3600) == 3
    assert to_mm_factor("kg m-2 s-1", 86400) == 86400
    assert to_mm_factor("mm/day", 6 * 3600) == 0.25
    for bad in ("K", "", None, "mm h", "inches"):
        with pytest.raises(ValueError):
            parse_units(bad)


def test_imerg_sample_is_catalogued_with_its_period_and_units(db, tmp_path: Path) -> None:
    s = ingest_file(db, IMERG, data_dir=tmp_path)
    assert s.kind == KIND and s.status == "loaded", s.message
    assert s.loaded == {"grid_definition": 1, "grid_file": 1, "village_rain": 0}
    row = db.execute(
        "SELECT product, variable, units, to_mm, valid_start, valid_end, issued_at, lead_hours,"
        " valid_cells, invalid_cells, max_mm, path, d.width, d.height, d.epsg, d.transform,"
        " ST_XMin(d.footprint), ST_YMax(d.footprint)"
        " FROM grid_file f JOIN grid_definition d ON d.id = f.grid_definition"
    ).fetchone()
    (product, variable, units, to_mm, start, end, issued, lead, valid, invalid, max_mm, path,
     width, height, epsg, transform, xmin, ymax) = row  # fmt: skip
    assert (product, variable, units) == ("qpe", "precipitationCal", "mm/hr")
    # half an hour of a rate in mm/hr: × 0.5; the julian-labelled time is 2020-01-01T12:00Z
    assert to_mm == 0.5
    assert start == datetime(2020, 1, 1, 12, tzinfo=UTC)
    assert end == datetime(2020, 1, 1, 12, 30, tzinfo=UTC) == issued and lead is None
    assert (valid, invalid) == (150 * 150, 0)
    assert max_mm == pytest.approx(11.148554 * 0.5, rel=1e-6)
    assert (width, height, epsg) == (150, 150, 4326)
    assert transform == pytest.approx([0.1, 0, -30.0, 0, -0.1, 45.0])
    assert (xmin, ymax) == pytest.approx((-30.0, 45.0))
    stored = Path(path)
    assert stored.is_file() and stored.parent == tmp_path / "grids" / "2020" / "01" / "01"
    assert stored.name.endswith("-" + IMERG.name)
    # no demo village under the Atlantic
    assert (
        db.execute(
            "SELECT count(*) FROM village_rain WHERE ingest_id = %s", (s.ingest_id,)
        ).fetchone()[0]
        == 0
    )
    again = ingest_file(db, IMERG, data_dir=tmp_path)
    assert again.status == "duplicate" and again.ingest_id == s.ingest_id


def test_netcdf_qpe_gives_each_village_its_exact_area_weighted_rain(db, tmp_path: Path) -> None:
    fields = [field(1), field(2, scale=30), field(3, scale=0.5)]
    fields[1][5:8, 20:23] = np.nan  # a hole in the radar coverage (declared _FillValue)
    path = write_qpe_netcdf(tmp_path / "mayang_hourly.nc", fields)
    s = ingest_file(db, path, data_dir=tmp_path / "store")
    assert s.status == "loaded", s.message
    assert s.loaded["grid_file"] == 3
    frame = villages(db)
    transform = Affine(CELL, 0, LON0, 0, -CELL, LAT_TOP)
    crs = CRS.from_epsg(4326)
    for i, f in enumerate(fields):
        values = f.astype(np.float32).astype(np.float64)
        got = stored_rain(db, T0 + timedelta(hours=i))
        mean = exact(values, transform, crs, frame, "mean(coverage_weight=area_spherical_m2)")
        mx = exact(values, transform, crs, frame, "max")
        expected = {
            c: (m, x) for c, m, x in zip(frame["code"], mean, mx, strict=True) if not np.isnan(m)
        }
        assert set(got) == set(expected)
        for code, (m, x) in expected.items():
            assert got[code][0] == pytest.approx(m, abs=1e-6)
            assert got[code][1] == pytest.approx(x, abs=1e-6)
    # villages east of 109.90 are partly outside the grid: their coverage says so
    got = stored_rain(db, T0)
    partial = {c for c, (_m, _x, cov) in got.items() if cov < 0.999}
    outside = frame[frame.geometry.bounds["maxx"] > LON0 + CELL * NX]
    assert partial and partial <= set(outside["code"]) | set()
    assert all(0 < got[c][2] < 1 for c in partial)
    inside = frame[frame.geometry.bounds["maxx"] < LON0 + CELL * NX - 0.01]
    assert all(got[c][2] == pytest.approx(1.0, abs=1e-6) for c in inside["code"] if c in got)
    # the hole lowers the coverage of the villages under it in hour 2 only
    hole = stored_rain(db, T0 + timedelta(hours=1))
    assert any(hole[c][2] < got[c][2] - 1e-3 for c in hole)
    assert len(got) == len(frame) - int((frame.geometry.bounds["minx"] >= LON0 + CELL * NX).sum())
    # the window function adds the three hours up
    at = T0 + timedelta(hours=3)
    window = {r[0]: r for r in db.execute("SELECT * FROM village_rain_window(%s, 3)", (at,))}
    code = next(iter(inside["code"]))
    total = sum(stored_rain(db, T0 + timedelta(hours=i))[code][0] for i in range(3))
    assert window[code][1] == pytest.approx(total) and window[code][4] == "qpe"
    assert window[code][3] == pytest.approx(1.0, abs=1e-6)


def test_projected_geotiff_qpe_in_a_rate_with_nodata_and_sentinels(db, tmp_path: Path) -> None:
    crs = CRS.from_epsg(4547)  # CGCS2000 / 3-degree Gauss-Kruger CM 114E
    transform = Affine(1000.0, 0, 45_000.0, 0, -1000.0, 3_115_000.0)
    rate = field(7, shape=(70, 60), scale=8.0).astype(np.float32)  # mm/h
    rate[0:3, 0:4] = -9999.0  # declared nodata
    rate[40, 30] = 99999.0  # an undeclared sentinel
    rate[41, 31] = -5.0  # impossible
    path = tmp_path / "cmpas_gk.tif"
    with rasterio.open(path, "w", driver="GTiff", width=60, height=70, count=1, dtype="float32",
                       crs=crs.to_wkt(), transform=transform, nodata=-9999.0) as ds:  # fmt: skip
        ds.write(rate, 1)
        ds.update_tags(RISKMAP_PRODUCT="qpe", RISKMAP_VALID_START="2026-07-01T20:00:00+08:00",
                       RISKMAP_VALID_END="2026-07-01T23:00:00+08:00")  # fmt: skip
        ds.set_band_unit(1, "mm/h")
    s = ingest_file(db, path, data_dir=tmp_path)
    assert s.status == "partial", s.message
    assert [p.record for p in s.problems] == ["band 1"]
    assert "2 cell(s) negative or sentinel" in s.problems[0].reason
    start = datetime(2026, 7, 1, 12, tzinfo=UTC)  # Beijing 20:00 → 12:00 UTC
    f = db.execute("SELECT valid_end, to_mm, invalid_cells FROM grid_file").fetchone()
    assert f == (start + timedelta(hours=3), 3.0, 12 + 2)
    values = rate.astype(np.float64) * 3
    values[rate == -9999.0] = np.nan
    values[40, 30] = values[41, 31] = np.nan
    frame = villages(db)
    mean = exact(values, transform, crs, frame, "mean")
    got = stored_rain(db, start)
    assert len(got) == int((~np.isnan(mean)).sum()) > 150
    for code, m in zip(frame["code"], mean, strict=True):
        if not np.isnan(m):
            assert got[code][0] == pytest.approx(m, abs=1e-6)


def test_netcdf_qpf_one_row_per_lead(db, tmp_path: Path) -> None:
    lon, lat = ll_coords()
    leads = np.array([1, 2, 3, 6], dtype=np.float64)
    amounts = np.stack([np.full((NY, NX), v, np.float32) for v in (1.0, 2.0, 3.0, 4.0)])
    issued = datetime(2026, 7, 2, 0, tzinfo=UTC)
    ds = xr.Dataset(
        {"qpf": (("step", "lat", "lon"), amounts, {"units": "kg m-2"})},
        coords={
            "step": ("step", leads, {"units": "hours", "standard_name": "forecast_period"}),
            "lat": ("lat", lat, {"units": "degrees_north"}),  # descending: north-up already
            "lon": ("lon", lon, {"units": "degrees_east"}),
            "forecast_reference_time": (
                (),
                issued.timestamp(),
                {"units": "seconds since 1970-01-01", "standard_name": "forecast_reference_time"},
            ),
        },
    )
    path = tmp_path / "qpf.nc"
    ds.to_netcdf(path)
    s = ingest_file(db, path, data_dir=tmp_path)
    assert s.status == "loaded", s.message
    rows = db.execute(
        "SELECT product, valid_start, valid_end, issued_at, lead_hours FROM grid_file ORDER BY step"
    ).fetchall()
    h = timedelta(hours=1)
    assert rows == [
        ("qpf", issued, issued + h, issued, 1.0),
        ("qpf", issued + h, issued + 2 * h, issued, 2.0),
        ("qpf", issued + 2 * h, issued + 3 * h, issued, 3.0),
        ("qpf", issued + 3 * h, issued + 6 * h, issued, 6.0),
    ]
    out = db.execute(
        "SELECT village_code, rain_mm, max_mm, coverage, source"
        " FROM village_rain_forecast(%s, %s, %s)",
        (issued, issued, issued + 6 * h),
    ).fetchall()
    full = [r for r in out if r[3] > 0.999]
    assert full and all(r[1] == pytest.approx(10.0) and r[4] == "qpf" for r in full)
    latest = db.execute(
        "SELECT rain_mm FROM village_rain_forecast(NULL, %s, %s) WHERE village_code = %s",
        (issued, issued + 3 * h, full[0][0]),
    ).fetchone()
    assert latest[0] == pytest.approx(6.0)


def test_window_functions_on_known_numbers(db) -> None:
    codes = [
        r[0]
        for r in db.execute(
            "SELECT code FROM admin_unit WHERE level = 'village' AND gb2260 = '431226'"
            " ORDER BY code LIMIT 4"
        )
    ]
    a, b, c, d = codes
    at = datetime(2031, 7, 1, 12, tzinfo=UTC)
    h = timedelta(hours=1)
    rows = []
    for i in range(6):  # village a: six hourly analyses of 2 mm, and a 6-hour one of 30 mm
        rows.append((a, "qpe", at - (i + 1) * h, at - i * h, at - i * h, 2.0, 3.0, 1.0))
    rows.append((a, "qpe", at - 6 * h, at, at, 30.0, 40.0, 1.0))
    rows.append((b, "gauge", at - h, at, at, 5.0, 5.0, 1.0))  # b: only a rain gauge
    rows.append((c, "qpe", at - h, at, at, 4.0, 6.0, 0.5))  # c: half covered by the grid
    rows.append((c, "gauge", at - h, at, at, 9.0, 9.0, 1.0))  # … its gauge is not used
    for i in range(6):  # d: rolling 3-hour sums ending every hour, 3 mm each
        rows.append((d, "qpe", at - (i + 3) * h, at - i * h, at - i * h, 3.0, 3.0, 1.0))
    with db.cursor() as cur:
        cur.executemany(
            "INSERT INTO village_rain (village_code, product, valid_start, valid_end, issued_at,"
            " mean_mm, max_mm, coverage) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            rows,
        )

    def window(hours: int) -> dict[str, tuple]:
        out = db.execute("SELECT * FROM village_rain_window(%s, %s)", (at, hours)).fetchall()
        return {r[0]: tuple(r[1:]) for r in out}

    w1, w3, w6, w24 = window(1), window(3), window(6), window(24)
    assert w1[a] == (2.0, 3.0, 1.0, "qpe")
    assert w1[b] == (5.0, 5.0, 1.0, "gauge")
    assert w1[c] == (4.0, 6.0, 0.5, "qpe")
    assert d not in w1  # no 3-hour period fits in one hour
    assert w3[a][0] == 6.0 and w3[d][0] == 3.0
    # hourly and 6-hourly both span 6 h: the finer wins and nothing is counted twice
    assert w6[a] == (12.0, 18.0, 1.0, "qpe")
    assert w6[d][0] == 6.0  # the chain ending at `at`: (at-3h, at] and (at-6h, at-3h]
    assert w24[a][0] == 12.0 and w24[a][2] == pytest.approx(0.25)
    assert w24[d][0] == 6.0
    db.rollback()


def test_geotiff_qpe_named_by_the_file_pattern(db, tmp_path: Path) -> None:
    path = tmp_path / "mayang_qpe_202607020000_202607020100.tif"
    transform = Affine(CELL, 0, LON0, 0, CELL, LAT_TOP - CELL * NY)  # south-up: flipped on read
    north = field(11)
    with rasterio.open(path, "w", driver="GTiff", width=NX, height=NY, count=1, dtype="float32",
                       crs="EPSG:4326", transform=transform) as ds:  # fmt: skip
        ds.write(north[::-1, :].astype(np.float32), 1)
        ds.update_tags(1, units="mm")
    s = ingest_file(db, path, data_dir=tmp_path)
    assert s.status == "loaded", s.message
    start = datetime(2026, 7, 2, tzinfo=UTC)
    frame = villages(db)
    mean = exact(north.astype(np.float32).astype(float), Affine(CELL, 0, LON0, 0, -CELL, LAT_TOP),
                 CRS.from_epsg(4326), frame, "mean(coverage_weight=area_spherical_m2)")  # fmt: skip
    got = stored_rain(db, start)
    for code, m in zip(frame["code"], mean, strict=True):
        if not np.isnan(m):
            assert got[code][0] == pytest.approx(m, abs=1e-6)
    # the same grid definition as the NetCDF of the same cells: weights come from the cache
    nc = write_qpe_netcdf(tmp_path / "again.nc", [field(12)])
    again = ingest_file(db, nc, data_dir=tmp_path)
    assert db.execute("SELECT count(*) FROM grid_definition").fetchone()[0] == 1
    assert again.status == "loaded"


# -- bad input ---------------------------------------------------------------------------------


def assert_rejected(db, s, *words: str) -> None:
    assert s.status == "rejected", s
    for w in words:
        assert w in s.message, s.message
    assert db.execute("SELECT count(*) FROM grid_file").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM grid_definition").fetchone()[0] == 0


def test_wrong_units_are_rejected(db, tmp_path: Path) -> None:
    path = write_qpe_netcdf(tmp_path / "kelvin.nc", [field(1)], units="K")
    s = ingest_file(db, path, data_dir=tmp_path)
    assert_rejected(db, s, "kelvin.nc", "wrong units", "'K'")


def test_missing_units_are_rejected(db, tmp_path: Path) -> None:
    path = tmp_path / "mayang_qpe_202607020000_202607020100.tif"
    transform = Affine(0.1, 0, 109.5, 0, -0.1, 28.0)
    with rasterio.open(path, "w", driver="GTiff", width=4, height=4, count=1, dtype="float32",
                       crs="EPSG:4326", transform=transform) as ds:  # fmt: skip
        ds.write(np.ones((4, 4), np.float32), 1)
    s = ingest_file(db, path, data_dir=tmp_path, kind=KIND)
    assert_rejected(db, s, path.name, "wrong units", "missing units")


@pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")
def test_grid_with_no_crs_is_rejected(db, tmp_path: Path) -> None:
    path = tmp_path / "nocrs_qpe_202607020000_202607020100.tif"
    with rasterio.open(
        path, "w", driver="GTiff", width=4, height=4, count=1, dtype="float32"
    ) as ds:
        ds.write(np.ones((4, 4), np.float32), 1)
        ds.update_tags(1, units="mm")
    s = ingest_file(db, path, data_dir=tmp_path)
    assert_rejected(db, s, path.name, "grid with no CRS")
    # NetCDF with projected x/y and no grid_mapping
    ds = xr.Dataset(
        {"precip": (("y", "x"), np.ones((3, 4), np.float32), {"units": "mm"})},
        coords={
            "x": ("x", np.arange(4) * 1000.0, {"standard_name": "projection_x_coordinate"}),
            "y": ("y", np.arange(3) * 1000.0, {"standard_name": "projection_y_coordinate"}),
        },
        attrs={
            "RISKMAP_PRODUCT": "qpe",
            "RISKMAP_VALID_START": "2026-07-02T00:00Z",
            "RISKMAP_VALID_END": "2026-07-02T01:00Z",
        },
    )
    nc = tmp_path / "xy.nc"
    ds.to_netcdf(nc)
    assert_rejected(db, ingest_file(db, nc, data_dir=tmp_path), "xy.nc", "grid with no CRS")


def test_truncated_netcdf_is_rejected(db, tmp_path: Path) -> None:
    whole = write_qpe_netcdf(tmp_path / "whole.nc", [field(1), field(2)])
    cut = tmp_path / "cut.nc"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    s = ingest_file(db, cut, data_dir=tmp_path, kind=KIND)
    assert_rejected(db, s, "cut.nc", "truncated")
    cut_imerg = tmp_path / "imerg_cut.nc4"
    cut_imerg.write_bytes(IMERG.read_bytes()[:20000])
    assert_rejected(db, ingest_file(db, cut_imerg, data_dir=tmp_path, kind=KIND), "imerg_cut.nc4")


def test_station_layout_is_not_a_grid(db, tmp_path: Path) -> None:
    s = ingest_file(db, ERA5, data_dir=tmp_path)
    assert s.kind == KIND
    assert_rejected(
        db, s, ERA5.name, "not a gridded product (featureType/station layout", "'location'"
    )


def test_entirely_invalid_grid_is_rejected(db, tmp_path: Path) -> None:
    path = write_qpe_netcdf(tmp_path / "allbad.nc", [np.full((NY, NX), -999999.0)])
    s = ingest_file(db, path, data_dir=tmp_path)
    assert_rejected(db, s, "allbad.nc", "no valid grid cell", "every cell is no data")


def test_model_calendar_is_rejected(db, tmp_path: Path) -> None:
    path = write_qpe_netcdf(tmp_path / "cal.nc", [field(1)], calendar="360_day")
    assert_rejected(db, ingest_file(db, path, data_dir=tmp_path), "cal.nc", "360_day")


def test_radolan_is_not_supported(db, tmp_path: Path) -> None:
    # GRIB is read (tests/ingest/test_grib.py); DWD RADOLAN binaries are not
    for sample in sorted((RAIN / "radolan").iterdir()):
        s = ingest_file(db, sample, data_dir=tmp_path)
        assert s.status == "rejected" and KIND in s.message  # detect: no kind claims it
        forced = ingest_file(db, sample, data_dir=tmp_path, kind=KIND)
        assert_rejected(db, forced, sample.name, "format not supported")
    # the RADOLAN payload is recognised even unpacked
    raw = tmp_path / "raa01-rw.bin"
    raw.write_bytes(gzip.decompress((RAIN / "radolan").glob("*.gz").__next__().read_bytes()))
    assert_rejected(db, ingest_file(db, raw, data_dir=tmp_path, kind=KIND), "RADOLAN")


def test_weights_follow_village_boundaries(db, tmp_path: Path) -> None:
    """The villages version changes with a boundary, so cached weights are never stale."""
    zonal_cache.clear_memory_cache()
    path = write_qpe_netcdf(tmp_path / "v1.nc", [field(21)])
    assert ingest_file(db, path, data_dir=tmp_path).status == "loaded"
    gdef = db.execute("SELECT id FROM grid_definition").fetchone()[0]
    (before,) = db.execute(SQL("village_version.sql")).fetchone()
    codes = [r[0] for r in db.execute("SELECT village_code FROM village_rain ORDER BY 1")]
    code = codes[len(codes) // 2]
    db.execute("UPDATE admin_unit SET population = population WHERE code = %s", (code,))
    # other columns than code, level, parent or outline leave the weights valid
    assert db.execute(SQL("village_version.sql")).fetchone()[0] == before
    db.execute(
        "UPDATE admin_unit SET geom = ST_Multi(ST_Buffer(geom, -0.0005)) WHERE code = %s", (code,)
    )
    after = db.execute(SQL("village_version.sql")).fetchone()[0]
    db.rollback()
    assert before != after
    assert (tmp_path / "cache" / "zonal" / f"{gdef}-{before}.npz").is_file()
    assert zonal_cache.cache_path(tmp_path / "cache", gdef, after).name == f"{gdef}-{after}.npz"


def test_lon_before_lat_in_metres_with_periods_from_the_time_spacing(db, tmp_path: Path) -> None:
    """(time, lon, lat) like IMERG, values in m, two times without bounds: CF period ends."""
    lon, lat = ll_coords()
    north = np.stack([np.full((NY, NX), 0.002), np.full((NY, NX), 0.005)])  # 2 mm, 5 mm
    north[1, :, :5] = 0.02  # 20 mm over the western columns of the second hour
    ends = [(T0 + timedelta(hours=h)).timestamp() / 3600 for h in (1, 2)]
    ds = xr.Dataset(
        {"tp": (("time", "lon", "lat"), north.transpose(0, 2, 1), {"units": "m"})},
        coords={
            "time": ("time", ends, {"units": "hours since 1970-01-01T00:00:00Z"}),
            "lon": ("lon", lon, {"standard_name": "longitude"}),
            "lat": ("lat", lat, {"standard_name": "latitude"}),
        },
    )
    path = tmp_path / "era_like.nc"
    ds.to_netcdf(path)
    s = ingest_file(db, path, data_dir=tmp_path)
    assert s.status == "loaded", s.message
    rows = db.execute(
        "SELECT valid_start, valid_end, to_mm FROM grid_file ORDER BY step"
    ).fetchall()
    h = timedelta(hours=1)
    assert rows == [(T0, T0 + h, 1000.0), (T0 + h, T0 + 2 * h, 1000.0)]
    first, second = stored_rain(db, T0), stored_rain(db, T0 + h)
    assert all(v[0] == pytest.approx(2.0) and v[1] == pytest.approx(2.0) for v in first.values())
    west = LON0 + 5 * CELL
    frame = villages(db).set_index("code")
    for code, (mean, mx, _cov) in second.items():
        minx, _, maxx, _ = frame.loc[code].geometry.bounds
        if maxx < west:
            assert mean == pytest.approx(20.0) and mx == pytest.approx(20.0)
        elif minx > west:
            assert mean == pytest.approx(5.0) and mx == pytest.approx(5.0)
        else:
            assert 5.0 < mean < 20.0 and mx == pytest.approx(20.0)
