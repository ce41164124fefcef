"""GRIB 1 and 2 rain grids: values checked against ecCodes' own reading of each message, and
village rain over Mayang from small GRIB files written here with ecCodes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import eccodes
import numpy as np
import pytest
import xarray as xr
from affine import Affine
from pyproj import CRS

from riskmap.ingest.pipeline import ingest_file
from tests.conftest import SHARED_DATA
from tests.ingest.test_grids import db, exact, stored_rain, villages

assert db  # the fixture, shared with the NetCDF/GeoTIFF grid tests
GRIB = SHARED_DATA / "rain" / "grib"
ECMWF = GRIB / "ecmwf_tp_two_grid_resolutions.grib1"
NCEP = GRIB / "ncep_gfs_cprat_cfrzr.grib2"
RUN = datetime(2026, 7, 14, 0, tzinfo=UTC)
# over Mayang: 19 × 16 cells of 0.05°, centres 109.30–110.20 E, 28.15–27.40 N
GRID = {
    "Ni": 19,
    "Nj": 16,
    "latitudeOfFirstGridPointInDegrees": 28.15,
    "latitudeOfLastGridPointInDegrees": 27.40,
    "longitudeOfFirstGridPointInDegrees": 109.30,
    "longitudeOfLastGridPointInDegrees": 110.20,
    "iDirectionIncrementInDegrees": 0.05,
    "jDirectionIncrementInDegrees": 0.05,
    "jScansPositively": 0,
}


def eccodes_messages(path: Path) -> list[dict]:
    """Each message as ecCodes itself reads it (keys and values), independent of our reader."""
    out = []
    with path.open("rb") as fh:
        while (h := eccodes.codes_grib_new_from_file(fh)) is not None:
            try:
                keys = ("shortName", "stepType", "startStep", "endStep", "dataDate", "dataTime",
                        "Ni", "Nj", "units", "gridType", "numberOfMissing")  # fmt: skip
                msg = {k: eccodes.codes_get(h, k) for k in keys}
                msg["values"] = eccodes.codes_get_values(h).reshape(msg["Nj"], msg["Ni"])
                msg["lats"] = eccodes.codes_get_array(h, "distinctLatitudes")
                msg["lons"] = eccodes.codes_get_array(h, "distinctLongitudes")
                out.append(msg)
            finally:
                eccodes.codes_release(h)
    return out


def stored_grids(conn) -> list[tuple]:
    return conn.execute(
        "SELECT f.path, f.step, f.product, f.valid_start, f.valid_end, f.issued_at, f.variable,"
        " d.width, d.height FROM grid_file f JOIN grid_definition d ON d.id = f.grid_definition"
        " ORDER BY f.valid_end, d.width"
    ).fetchall()


def stored_mm(path: str, step: int, variable: str) -> np.ndarray:
    """A period as the data store keeps it, read with xarray, north row first."""
    with xr.open_dataset(path) as ds:
        da = ds[variable].isel(time=step)
        return da.sortby("lat", ascending=False).to_numpy()


def test_ecmwf_two_grids_load_as_two_grid_datasets(db, tmp_path: Path) -> None:
    s = ingest_file(db, ECMWF, data_dir=tmp_path / "store")
    assert s.status == "loaded", s.message
    assert s.kind == "rain-grid" and s.loaded["grid_definition"] == 2 and s.loaded["grid_file"] == 2
    peer = sorted(eccodes_messages(ECMWF), key=lambda m: m["dataDate"])
    rows = stored_grids(db)
    assert [(r[7], r[8]) for r in rows] == [(p["Ni"], p["Nj"]) for p in peer]
    for row, msg in zip(rows, peer, strict=True):
        run = datetime.strptime(str(msg["dataDate"]), "%Y%m%d").replace(tzinfo=UTC) + timedelta(
            hours=msg["dataTime"] // 100
        )
        # ECMWF tp is accumulated from the run start: step 12 is the amount of hours 0-12
        assert row[2:7] == ("qpf", run, run + timedelta(hours=msg["endStep"]), run, "tp")
        assert msg["units"] == "m" and msg["stepType"] == "instant"
        np.testing.assert_allclose(
            stored_mm(row[0], row[1], row[6]), msg["values"] * 1000, rtol=1e-12
        )
    # the global grids cover Mayang too: each village has rain of both runs
    n = db.execute("SELECT count(DISTINCT valid_end) FROM village_rain WHERE product = 'qpf'")
    assert n.fetchone()[0] == 2


def test_ncep_averaged_rate_becomes_an_amount_and_the_rest_is_refused(db, tmp_path) -> None:
    s = ingest_file(db, NCEP, data_dir=tmp_path / "store")
    assert s.status == "partial", s.message
    problems = {p.record: p for p in s.problems}
    assert set(problems) == {"message 1", "message 3", "message 4"}
    assert problems["message 1"].field == "stepType" and "instant" in problems["message 1"].reason
    for n in ("message 3", "message 4"):
        assert problems[n].field == "shortName" and "cfrzr" in problems[n].reason
    (row,) = stored_grids(db)
    msg = eccodes_messages(NCEP)[1]
    assert (msg["shortName"], msg["stepType"], msg["startStep"], msg["endStep"]) == (
        "cpr", "avg", 0, 5,
    )  # fmt: skip
    run = datetime(2023, 5, 10, 18, tzinfo=UTC)
    assert row[2:7] == ("qpf", run, run + timedelta(hours=5), run, "cpr")
    # kg m-2 s-1 averaged over 5 h → mm: × 5 × 3600
    np.testing.assert_allclose(stored_mm(row[0], row[1], row[6]), msg["values"] * 18000, rtol=1e-12)


def write_grib(
    path: Path, fields: list[np.ndarray], *, edition: int = 2, cpr: bool = False, **extra
) -> Path:
    """Hourly (GRIB 2, kg m-2) or 6-hourly (GRIB 1 ECMWF, m) accumulations from RUN."""
    with path.open("wb") as fh:
        for k, values in enumerate(fields, start=1):
            if edition == 2:
                h = eccodes.codes_grib_new_from_samples("regular_ll_sfc_grib2")
                keys = {"centre": "kwbc", "productDefinitionTemplateNumber": 8, "discipline": 0,
                        "parameterCategory": 1, "parameterNumber": 8,
                        "typeOfStatisticalProcessing": 1, "typeOfGeneratingProcess": 2,
                        "stepRange": f"0-{k}"}  # fmt: skip
                if cpr:  # convective precipitation rate averaged over hour k (NCEP 0/1/196)
                    keys |= {"parameterNumber": 196, "typeOfStatisticalProcessing": 0,
                             "stepRange": f"{k - 1}-{k}"}  # fmt: skip
            else:
                h = eccodes.codes_grib_new_from_samples("GRIB1")
                keys = {"centre": "ecmf", "table2Version": 128, "indicatorOfParameter": 228,
                        "marsType": "fc", "P1": 6 * k}  # fmt: skip
            keys |= {"dataDate": 20260714, "dataTime": 0, "bitsPerValue": 24, **GRID, **extra}
            for key, value in keys.items():
                eccodes.codes_set(h, key, value)
            eccodes.codes_set_values(h, values.ravel())
            eccodes.codes_write(h, fh)
            eccodes.codes_release(h)
    return path


def storm(seed: int, scale: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:16, 0:19]
    return scale * np.exp(-(((xx - 11) ** 2 + (yy - 6) ** 2) / 30.0)) + rng.gamma(
        1.2, 1.0, (16, 19)
    )


@pytest.mark.parametrize("edition", [2, 1])
def test_accumulations_become_per_step_village_rain(db, tmp_path: Path, edition: int) -> None:
    unit = 1.0 if edition == 2 else 0.001  # kg m-2 (= mm) or m
    steps = [storm(1, 10) * unit, storm(2, 30) * unit, storm(3, 5) * unit]
    acc = np.cumsum(steps, axis=0)
    path = write_grib(tmp_path / f"mayang.grib{edition}", list(acc), edition=edition)
    s = ingest_file(db, path, data_dir=tmp_path / "store")
    assert s.status == "loaded", (s.message, s.problems)
    hours = 1 if edition == 2 else 6
    peer = eccodes_messages(path)
    assert [m["endStep"] for m in peer] == [hours, 2 * hours, 3 * hours]
    # the oracle: ecCodes' decoded accumulations, differenced here, in mm, by exactextract
    decoded = np.array([m["values"] for m in peer]) * (1000.0 if edition == 1 else 1.0)
    amounts = np.diff(decoded, axis=0, prepend=0)
    transform = Affine(0.05, 0, 109.275, 0, -0.05, 28.175)
    frame = villages(db)
    crs = CRS.from_epsg(4326)
    for k in range(3):
        start = RUN + timedelta(hours=hours * k)
        mm = np.where((amounts[k] < 0) & (amounts[k] > -0.1), 0.0, amounts[k])
        mean = exact(mm, transform, crs, frame, "mean(coverage_weight=area_spherical_m2)")
        mx = exact(mm, transform, crs, frame, "max")
        got = stored_rain(db, start)
        assert set(got) == set(frame["code"])
        for code, m, x in zip(frame["code"], mean, mx, strict=True):
            assert got[code][0] == pytest.approx(m, abs=1e-6)
            assert got[code][1] == pytest.approx(x, abs=1e-6)
    rows = stored_grids(db)
    assert [(r[3], r[4], r[5]) for r in rows] == [
        (RUN + timedelta(hours=hours * k), RUN + timedelta(hours=hours * (k + 1)), RUN)
        for k in range(3)
    ]


def test_other_parameters_and_grids_are_refused_naming_message_and_field(db, tmp_path) -> None:
    path = tmp_path / "mixed.grib2"
    rain = write_grib(tmp_path / "rain.grib2", [storm(4, 10)])
    with path.open("wb") as fh:
        h = eccodes.codes_grib_new_from_samples("regular_ll_sfc_grib2")  # 2 m temperature
        eccodes.codes_write(h, fh)
        eccodes.codes_release(h)
        h = eccodes.codes_grib_new_from_samples("reduced_gg_pl_32_grib2")
        eccodes.codes_write(h, fh)
        eccodes.codes_release(h)
        fh.write(rain.read_bytes())
    s = ingest_file(db, path, data_dir=tmp_path / "store")
    assert s.status == "partial", s.message
    got = {p.record: (p.field, p.reason) for p in s.problems}
    assert got["message 1"][0] == "shortName" and "t (" in got["message 1"][1]
    assert got["message 2"] == ("gridType", "grid type reduced_gg is not read (only regular_ll)")
    assert s.loaded["grid_file"] == 1
    only_refused = tmp_path / "temperature.grib2"
    only_refused.write_bytes(path.read_bytes()[: path.stat().st_size - rain.stat().st_size])
    s = ingest_file(db, only_refused, data_dir=tmp_path / "store")
    assert s.status == "rejected" and "temperature.grib2" in s.message
    assert "message 1, field shortName" in s.message and "message 2, field gridType" in s.message
    truncated = tmp_path / "truncated.grib2"
    truncated.write_bytes(rain.read_bytes()[:200])
    s = ingest_file(db, truncated, data_dir=tmp_path / "store")
    assert s.status == "rejected" and "truncated.grib2: message 1" in s.message, s.message


def test_one_period_keeps_total_precipitation_over_convective(db, tmp_path: Path) -> None:
    """A full GFS file gives hour 0-1 as APCP and as CPRAT: villages get the total."""
    total = write_grib(tmp_path / "tp.grib2", [storm(5, 10)])
    rate = write_grib(tmp_path / "cpr.grib2", [storm(6, 1) / 3600], cpr=True)
    both = tmp_path / "gfs.grib2"
    both.write_bytes(rate.read_bytes() + total.read_bytes())  # convective first in the file
    s = ingest_file(db, both, data_dir=tmp_path / "store")
    assert s.status == "partial", s.message
    (p,) = s.problems
    assert p.record.startswith("message 1 (cpr 0-1 h)") and p.field == "shortName"
    assert "given by tp" in p.reason
    (row,) = stored_grids(db)
    assert row[6] == "tp"
    tp = eccodes_messages(total)[0]["values"]
    np.testing.assert_allclose(stored_mm(row[0], row[1], "tp"), tp, rtol=1e-12)


def test_a_grid_with_no_valid_cell_is_quarantined_and_the_other_grid_loads(db, tmp_path) -> None:
    good = write_grib(tmp_path / "good.grib2", [storm(7, 10)])
    empty = write_grib(tmp_path / "empty.grib2", [np.full((8, 10), 9999.0)], bitmapPresent=1,
                       Ni=10, Nj=8, longitudeOfLastGridPointInDegrees=109.75,
                       latitudeOfLastGridPointInDegrees=27.80)  # fmt: skip
    assert eccodes_messages(empty)[0]["numberOfMissing"] == 80  # every point missing (bitmap)
    both = tmp_path / "two_grids.grib2"
    both.write_bytes(empty.read_bytes() + good.read_bytes())
    s = ingest_file(db, both, data_dir=tmp_path / "store")
    assert s.status == "partial", s.message
    assert any(p.record.startswith("message 1") and "no valid grid cell" in p.reason
               for p in s.problems), s.problems  # fmt: skip
    assert [(r[7], r[8]) for r in stored_grids(db)] == [(19, 16)]
