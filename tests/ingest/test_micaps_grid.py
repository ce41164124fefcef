"""MICAPS type 4 rain grids: read as nmc-met-io reads them, and into village rain via PostGIS."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from affine import Affine
from nmc_met_io.read_micaps import read_micaps_4
from PIL import Image
from psycopg.rows import dict_row
from pyproj import CRS

from riskmap.api.tiles.raster import find_grid, render
from riskmap.geo.grids.refresh import refresh_village_rain
from riskmap.ingest.batch import FeedReadError
from riskmap.ingest.feeds.micaps.grid4 import read_micaps4
from riskmap.ingest.pipeline import ingest_file
from tests.ingest.micaps_files import LAT_SOUTH, LON0, NLAT, STEP, rain_field, write_micaps4
from tests.ingest.test_grids import db, exact, stored_rain, villages

assert db  # the fixture, shared with the NetCDF/GeoTIFF grid tests
BEIJING_0800 = datetime(2026, 7, 14, 8)  # naive: Beijing time, as the header carries it
UTC_0000 = datetime(2026, 7, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("north_first", "year_digits", "encoding", "lead"),
    [
        (True, 4, "utf-8", 0),
        (False, 2, "gbk", 0),
        (True, 2, "utf-8-sig", 24),
        (False, 4, "gbk", 12),
    ],
)
def test_grid_agrees_with_nmc_met_io(
    tmp_path: Path, north_first: bool, year_digits: int, encoding: str, lead: int
) -> None:
    north_up = rain_field(3, missing=4)
    desc = "12小时降水量预报" if lead == 12 else "24小时降水量"
    opts = {"north_first": north_first, "year_digits": year_digits, "encoding": encoding}
    path = write_micaps4(
        tmp_path / "r.000", north_up, BEIJING_0800, lead=lead, description=desc, **opts
    )
    (grid,), problems = read_micaps4(path)
    assert problems == []
    peer = read_micaps_4(str(path))
    # nmc-met-io turns rows south→north and keeps the header's Beijing time (naive)
    peer_lat = peer["lat"].to_numpy()
    assert np.all(np.diff(peer_lat) > 0)
    order = np.argsort(grid.lat)
    np.testing.assert_allclose(grid.lat[order], peer_lat, atol=1e-9)
    np.testing.assert_allclose(grid.lon, peer["lon"].to_numpy(), atol=1e-9)
    ours = grid.periods[0].values[order]
    theirs = peer["data"].to_numpy()[0]
    # nmc-met-io leaves 9999 (MICAPS missing) as a value in type 4; we make it no data
    assert np.array_equal(np.isnan(ours), theirs == 9999.0)
    np.testing.assert_array_equal(ours[~np.isnan(ours)], theirs[theirs != 9999.0])
    init = np.datetime64(peer["forecast_reference_time"].values, "s").item()
    valid = np.datetime64(peer["time"].values[0], "s").item()
    assert init == BEIJING_0800
    assert valid == BEIJING_0800 + timedelta(hours=lead)
    period = grid.periods[0]
    assert period.end == UTC_0000 + timedelta(hours=lead)  # UTC = Beijing − 8 h
    hours = 12 if lead == 12 else 24
    assert period.start == period.end - timedelta(hours=hours)
    assert grid.issued == (UTC_0000 if lead else None)


def test_two_digit_years_before_2000(tmp_path: Path) -> None:
    """nmc-met-io adds 2000 to any two-digit year; '98' is 1998 (MICAPS dates from the 1990s;
    2098 is in the future), as POSIX %y reads it."""
    path = write_micaps4(tmp_path / "98.000", rain_field(1), datetime(1998, 7, 20, 8),
                         year_digits=2)  # fmt: skip
    (grid,), _ = read_micaps4(path)
    assert grid.periods[0].end == datetime(1998, 7, 20, 0, tzinfo=UTC)
    peer = read_micaps_4(str(path))
    assert np.datetime64(peer["time"].values[0], "s").item().year == 2098


def test_analysis_gives_villages_their_area_weighted_rain(db, tmp_path: Path) -> None:
    north_up = rain_field(5, missing=3)
    path = write_micaps4(tmp_path / "26071408.000", north_up, BEIJING_0800, north_first=False,
                         encoding="gbk")  # fmt: skip
    s = ingest_file(db, path, data_dir=tmp_path / "store")
    assert s.status == "loaded", s.message
    assert s.kind == "rain-grid" and s.loaded["grid_file"] == 1
    row = db.execute(
        "SELECT product, valid_start, valid_end, issued_at, lead_hours, invalid_cells, path"
        " FROM grid_file"
    ).fetchone()
    start = UTC_0000 - timedelta(hours=24)
    assert row[:5] == ("qpe", start, UTC_0000, UTC_0000, None)
    assert row[5] == 3 and row[6].endswith(".nc") and Path(row[6]).exists()
    # the oracle: exactextract over the values written, 9999 as no data
    values = np.where(north_up == 9999.0, np.nan, north_up)
    top = LAT_SOUTH + STEP * (NLAT - 1) + STEP / 2
    transform = Affine(STEP, 0, LON0 - STEP / 2, 0, -STEP, top)
    frame = villages(db)
    crs = CRS.from_epsg(4326)
    mean = exact(values, transform, crs, frame, "mean(coverage_weight=area_spherical_m2)")
    mx = exact(values, transform, crs, frame, "max")
    got = stored_rain(db, start)
    assert set(got) == set(frame["code"])
    for code, m, x in zip(frame["code"], mean, mx, strict=True):
        assert got[code][0] == pytest.approx(m, abs=1e-6)
        assert got[code][1] == pytest.approx(x, abs=1e-6)
    # the data store's copy is what later readers use: the refresh after a village reload
    # reads it back (no MICAPS code involved) to the same numbers
    done = refresh_village_rain(db, set(frame["code"]), tmp_path / "store" / "cache")
    assert done.missing == {} and done.periods == 1
    again = stored_rain(db, start)
    assert all(again[c] == pytest.approx(got[c], abs=1e-9) for c in got)
    assert ingest_file(db, path, data_dir=tmp_path / "store").status == "duplicate"
    # and the rain tiles draw it: the tile over the county at z 9 has coloured pixels (the
    # tile server reads with dict rows and commits; the fixture cleans up after)
    db.row_factory = dict_row
    png = render(find_grid(db, "qpe", UTC_0000), 9, 412, 214)
    assert np.asarray(Image.open(io.BytesIO(png)))[..., 3].any()


def test_a_description_with_spaces_is_read_where_nmc_met_io_shifts_fields(tmp_path) -> None:
    """The description runs to the end of line 1; nmc-met-io takes one word and then reads the
    rest of it as the year."""
    path = write_micaps4(tmp_path / "sp.000", rain_field(4), BEIJING_0800, lead=24,
                         description="ECMWF 24h 降水 预报")  # fmt: skip
    (grid,), _ = read_micaps4(path)
    assert grid.long_name == "ECMWF 24h 降水 预报" and grid.issued == UTC_0000
    with pytest.raises(ValueError, match="24h"):
        read_micaps_4(str(path))


def test_forecast_is_a_qpf_issued_at_the_run(db, tmp_path: Path) -> None:
    path = write_micaps4(tmp_path / "qpf.024", rain_field(6), BEIJING_0800, lead=24,
                         description="ECMWF 24h降水预报")  # fmt: skip
    s = ingest_file(db, path, data_dir=tmp_path / "store")
    assert s.status == "loaded", s.message
    row = db.execute(
        "SELECT product, valid_start, valid_end, issued_at, lead_hours FROM grid_file"
    ).fetchone()
    assert row == ("qpf", UTC_0000, UTC_0000 + timedelta(hours=24), UTC_0000, 24.0)
    n = db.execute(
        "SELECT count(*) FROM village_rain WHERE product = 'qpf' AND issued_at = %s", [UTC_0000]
    ).fetchone()[0]
    assert n == len(villages(db))


def test_bad_cells_are_quarantined_and_the_rest_kept(db, tmp_path: Path) -> None:
    path = write_micaps4(tmp_path / "bad.000", rain_field(7), BEIJING_0800)
    text = path.read_text().splitlines()
    cells = text[6].split()
    cells[3] = "x1"
    text[6] = " ".join(cells)
    path.write_text("\n".join(text) + "\n")
    s = ingest_file(db, path, data_dir=tmp_path / "store")
    assert s.status == "partial", s.message
    (p,) = s.problems
    assert (p.record, p.field) == ("line 7", "value (row 3, column 4)")
    assert "'x1' is not a number" in p.reason


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda t: t.replace("24小时降水量", "地面温度"), "line 1, field description"),
        (lambda t: t.replace("24小时降水量", "降水量"), "does not state the accumulation"),
        (lambda t: t.rsplit(" ", 2)[0] + "\n", "grid values where nlon × nlat"),
        (lambda t: t.replace("2026 07 14 08", "2026 07 32 08"), "line 2, field year/month"),
        (lambda t: t.replace("19 16 10.0", "19 1x 10.0"), "line 4, field nlat: '1x'"),
        (lambda t: t.replace("110.20", "110.80"), "field lon_end"),
    ],
)
def test_unreadable_files_are_rejected_naming_line_and_field(
    db, tmp_path: Path, edit, expected: str
) -> None:
    path = write_micaps4(tmp_path / "broken.000", rain_field(8), BEIJING_0800)
    path.write_text(edit(path.read_text()))
    with pytest.raises(FeedReadError, match=r"broken\.000"):
        read_micaps4(path)
    s = ingest_file(db, path, data_dir=tmp_path / "store")
    assert s.status == "rejected" and s.kind == "rain-grid"
    assert "broken.000" in s.message and expected in s.message, s.message
    assert db.execute("SELECT count(*) FROM grid_file").fetchone()[0] == 0
