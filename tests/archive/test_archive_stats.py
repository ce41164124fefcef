"""Annual maxima from hourly archives against a brute-force oracle (hand means, exactextract,
numpy loops), in every input format, on the threaded scheduler and a cluster's address."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import geopandas as gpd
import numpy as np
import psycopg
import pytest
import rasterio
import shapely
import xarray as xr
from pyproj import CRS
from rasterio.transform import from_origin

from riskmap.geo.archive.run import run_archive_stats
from riskmap.geo.archive.source import open_archive
from riskmap.geo.errors import DataError
from tests.archive.conftest import HEIGHT, NORTH, RES, VILLAGES, WEST, WIDTH

START = datetime(2015, 12, 30, tzinfo=UTC)  # Beijing new year: 2015-12-31T16:00Z, hour 64
HOURS = 96
END = START + timedelta(hours=HOURS)
MISSING_HOURS = {10, 47, 70}  # no file has them
CODES = sorted(VILLAGES)
WGS84 = CRS.from_epsg(4326).to_wkt()


def make_values(seed: int = 5) -> np.ndarray:
    """(hours, rows, cols) north-up: skewed rain, a NaN cell now and then, spikes at the
    chunk boundary (hour 48) and just before and after the Beijing new year (hour 64)."""
    rng = np.random.default_rng(seed)
    v = np.round(rng.gamma(0.6, 3.0, (HOURS, HEIGHT, WIDTH)) * (rng.random((HOURS, 1, 1)) < 0.7), 2)
    v[46:50] += 30.0
    v[62, :, :] += 55.0
    v[65, :, :] += 40.0
    v[20, 1, 1] = np.nan  # B falls back on its other cell
    v[30, 0, 0] = np.nan  # A has no valid cell: a missing hour for A only
    return v


def hour_ends() -> list[datetime]:
    return [START + timedelta(hours=i + 1) for i in range(HOURS)]


def write_netcdf(values: np.ndarray, folder) -> None:
    """Two files (split mid-archive), latitude ascending (south-up), CF time bounds."""
    lat = NORTH - RES * (np.arange(HEIGHT) + 0.5)
    lon = WEST + RES * (np.arange(WIDTH) + 0.5)
    keep = [i for i in range(HOURS) if i not in MISSING_HOURS]
    for part, sel in enumerate((keep[:40], keep[40:])):
        ends = np.array([(hour_ends()[i] - START).total_seconds() / 3600 for i in sel])
        ds = xr.Dataset(
            {
                "precipitation_amount": (
                    ("time", "lat", "lon"),
                    values[sel][:, ::-1, :],
                    {"units": "mm", "standard_name": "precipitation_amount"},
                ),
                "time_bnds": (("time", "bnds"), np.column_stack([ends - 1, ends])),
            },
            coords={
                "time": ("time", ends, {"units": "hours since 2015-12-30 00:00:00",
                                        "calendar": "standard", "bounds": "time_bnds"}),
                "lat": ("lat", lat[::-1], {"units": "degrees_north"}),
                "lon": ("lon", lon, {"units": "degrees_east"}),
            },
        )  # fmt: skip
        if folder.suffix == ".zarr":
            if part == 0:
                ds.to_zarr(folder, mode="w", consolidated=False)
            else:
                ds.to_zarr(folder, append_dim="time", consolidated=False)
        else:
            ds.to_netcdf(folder / f"rain_{part}.nc", encoding={"time": {"dtype": "f8"}})


def write_geotiff(values: np.ndarray, folder) -> None:
    """One file per hour, the period in RISKMAP_* tags, NaN as nodata."""
    tr = from_origin(WEST, NORTH, RES, RES)
    for i, end in enumerate(hour_ends()):
        if i in MISSING_HOURS:
            continue
        with rasterio.open(
            folder / f"rain_{end:%Y%m%d%H}.tif", "w", driver="GTiff", height=HEIGHT, width=WIDTH,
            count=1, dtype="float64", crs="EPSG:4326", transform=tr, nodata=np.nan,
        ) as dst:  # fmt: skip
            dst.write(values[i], 1)
            dst.update_tags(
                RISKMAP_PRODUCT="qpe",
                RISKMAP_VALID_START=f"{end - timedelta(hours=1):%Y-%m-%dT%H:%M}Z",
                RISKMAP_VALID_END=f"{end:%Y-%m-%dT%H:%M}Z",
                RISKMAP_UNITS="mm",
            )


def oracle_series(values: np.ndarray) -> dict[str, np.ndarray]:
    """Each village's hourly mean: hand-made for A and B, exactextract's own mean for C."""
    from exactextract import exact_extract
    from exactextract.raster import NumPyRasterSource

    out = {c: np.full(HOURS, np.nan) for c in CODES}
    poly_c = shapely.from_wkt(VILLAGES[CODES[2]])
    frame = gpd.GeoDataFrame({"v": [0]}, geometry=[poly_c], crs=4326)
    for i in range(HOURS):
        if i in MISSING_HOURS:
            continue
        out[CODES[0]][i] = values[i, 0, 0]
        pair = values[i, 1, 1:3]
        out[CODES[1]][i] = np.nan if np.isnan(pair).all() else np.nanmean(pair)
        raster = NumPyRasterSource(
            np.ma.masked_invalid(values[i]),
            WEST,
            NORTH - RES * HEIGHT,
            WEST + RES * WIDTH,
            NORTH,
            srs_wkt=WGS84,
        )
        out[CODES[2]][i] = exact_extract(
            raster, frame, "mean(coverage_weight=area_spherical_m2)", output="pandas"
        ).iloc[0, 0]
    return out


def oracle_maxima(series: dict[str, np.ndarray]) -> dict[tuple, tuple[float, datetime, int]]:
    """Plain loops: every complete window, its Beijing year (right-closed), the max per year."""
    bj = timedelta(hours=8)
    ends = hour_ends()
    year_of = [(e + bj - timedelta(seconds=1)).year for e in ends]
    want = {}
    for code, s in series.items():
        hours = {}
        for i in range(HOURS):
            if not np.isnan(s[i]):
                hours[year_of[i]] = hours.get(year_of[i], 0) + 1
        for d in (1, 3, 6, 12, 24):
            for j in range(d - 1, HOURS):
                w = s[j - d + 1 : j + 1]
                if np.isnan(w).any():
                    continue
                key = (code, d, year_of[j])
                total = float(w.sum())
                if key not in want or total > want[key][0] + 1e-9:
                    want[key] = (total, ends[j], hours[year_of[j]])
    return want


def db_rows(url: str, source: str) -> dict[tuple, tuple[float, datetime, int, bool]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT village_code, duration_h, year, max_mm, ends_at, hours, complete"
            " FROM village_rain_annual_max WHERE source = %s",
            (source,),
        ).fetchall()
    return {(r[0], r[1], r[2]): (r[3], r[4], r[5], r[6]) for r in rows}


def assert_matches(got: dict, want: dict) -> None:
    assert set(got) == set(want)
    for key, (total, end, hours) in want.items():
        g = got[key]
        assert g[0] == pytest.approx(total, rel=1e-7, abs=1e-9), key  # exactextract: 1e-8
        assert g[1] == end, key
        assert g[2] == hours, key
        assert g[3] is False  # a few days of data never make a year complete


@pytest.fixture(scope="module")
def values() -> np.ndarray:
    return make_values()


@pytest.fixture(scope="module")
def want(values) -> dict:
    return oracle_maxima(oracle_series(values))


@pytest.mark.parametrize("fmt", ["netcdf", "geotiff", "zarr"])
def test_maxima_equal_brute_force(fmt, values, want, archive_db, tmp_path) -> None:
    folder = tmp_path / ("rain.zarr" if fmt == "zarr" else "grids")
    if fmt != "zarr":
        folder.mkdir()
    (write_geotiff if fmt == "geotiff" else write_netcdf)(values, folder)
    # 4 covered years' worth of years: 2015 and 2016 Beijing; chunks of 24 h → windows cross
    assert {k[2] for k in want} == {2015, 2016}
    with psycopg.connect(archive_db) as conn:
        report = run_archive_stats(
            conn, folder, START, END, f"t-{fmt}", None, distributed=False, chunk_hours=24
        )
    assert report.chunks == 4 and report.hours_present == HOURS - len(MISSING_HOURS)
    assert_matches(db_rows(archive_db, f"t-{fmt}"), want)


def test_scheduler_address(values, want, archive_db, tmp_path) -> None:
    from distributed import LocalCluster

    write_netcdf(values, tmp_path)
    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, protocol="tcp", dashboard_address=None
    ) as cluster:
        assert cluster.scheduler_address.startswith("tcp://")
        with psycopg.connect(archive_db) as conn:
            run_archive_stats(
                conn, str(tmp_path / "*.nc"), START, END, "t-remote", None,
                scheduler=cluster.scheduler_address, chunk_hours=30,
            )  # fmt: skip
    assert_matches(db_rows(archive_db, "t-remote"), want)


def test_rows_replaced_atomically_and_geoparquet(values, archive_db, tmp_path) -> None:
    write_netcdf(values, tmp_path)
    with psycopg.connect(archive_db) as conn:
        conn.execute(
            "INSERT INTO village_rain_annual_max (source, village_code, duration_h, year,"
            " max_mm, hours, complete) VALUES ('t-swap', %s, 1, 1999, 1, 1, false),"
            " ('t-other', %s, 1, 1999, 2, 1, false)",
            (CODES[0], CODES[0]),
        )
        conn.commit()
        pq = tmp_path / "out" / "maxima.parquet"
        report = run_archive_stats(
            conn, tmp_path, START, END, "t-swap", None, distributed=False, parquet=pq
        )
    got = db_rows(archive_db, "t-swap")
    assert len(got) == report.rows and (CODES[0], 1, 1999) not in got  # the stale row is gone
    assert db_rows(archive_db, "t-other")[(CODES[0], 1, 1999)][0] == 2.0  # others untouched
    frame = gpd.read_parquet(pq)
    assert frame.crs.to_epsg() == 4326
    assert set(frame["source"]) == {"t-swap"} and len(frame) == report.rows
    a = frame[frame["village_code"] == CODES[0]].geometry.iloc[0]
    assert a.equals(shapely.from_wkt(VILLAGES[CODES[0]]).buffer(0)) or a.area == pytest.approx(0.01)
    row = frame[(frame.village_code == CODES[1]) & (frame.duration_h == 24) & (frame.year == 2016)]
    assert row["max_mm"].iloc[0] == pytest.approx(got[(CODES[1], 24, 2016)][0])

    # a failing run (a village code the database does not know) leaves the old rows whole
    from riskmap.geo.archive import store

    bad = frame.drop(columns="geometry").head(1).assign(village_code="000000000000")
    with psycopg.connect(archive_db) as conn, pytest.raises(psycopg.errors.ForeignKeyViolation):
        store.replace_source(conn, "t-swap", bad)
    assert db_rows(archive_db, "t-swap") == got


def test_file_without_rain_variable_is_named(tmp_path) -> None:
    xr.Dataset(
        {"temperature": (("time", "lat", "lon"), np.zeros((2, 2, 2)))},
        coords={"time": ("time", [1.0, 2.0], {"units": "hours since 2016-01-01"}),
                "lat": [40.05, 40.15], "lon": [100.05, 100.15]},
    ).to_netcdf(tmp_path / "t2m.nc")  # fmt: skip
    with pytest.raises(DataError, match=r"t2m\.nc: no rainfall variable"):
        open_archive(tmp_path, START, END)


def test_mismatched_grids_name_the_file(values, tmp_path) -> None:
    write_geotiff(values[:, :, :], tmp_path)
    odd = tmp_path / "rain_2016010300.tif"  # the last hour, on a grid one column narrower
    with rasterio.open(
        odd, "w", driver="GTiff", height=HEIGHT, width=WIDTH - 1, count=1, dtype="float64",
        crs="EPSG:4326", transform=from_origin(WEST, NORTH, RES, RES),
    ) as dst:  # fmt: skip
        dst.write(values[0, :, :-1], 1)
        dst.update_tags(RISKMAP_PRODUCT="qpe", RISKMAP_VALID_START="2016-01-02T23:00Z",
                        RISKMAP_VALID_END="2016-01-03T00:00Z")  # fmt: skip
    with pytest.raises(DataError, match=r"rain_2016010300\.tif: grid differs"):
        open_archive(tmp_path, START, END)
