"""Grid periods stored as one array row (migration 0022) read exactly as the village rows did.

The ``village_rain`` view must give what the table gave: one row per village and period, the
per-village rule for a period stored twice (a later grid replaces a village's values unless it
covers it less), inserts and deletes through the view, and deleted villages leaving the rain.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from riskmap.geo import zonal_cache
from riskmap.ingest.pipeline import ingest_file
from tests.ingest.test_grids import CELL, LON0, NX, T0, db, field, stored_rain, write_qpe_netcdf

__all__ = ["db"]  # the fixture, re-used


def grid_rows(db) -> list[tuple]:
    return db.execute(
        "SELECT valid_start, cardinality(mean_mm), village_set FROM village_rain_grid"
        " ORDER BY valid_start"
    ).fetchall()


def test_a_new_period_is_one_array_row_read_as_village_rows(db, tmp_path: Path) -> None:
    s = ingest_file(
        db, write_qpe_netcdf(tmp_path / "a.nc", [field(1), field(2)]), data_dir=tmp_path
    )
    assert s.status == "loaded", s.message
    rows = grid_rows(db)
    assert [r[0] for r in rows] == [T0, T0 + timedelta(hours=1)]
    assert len({r[2] for r in rows}) == 1  # one village order for the grid definition
    n_villages = rows[0][1]
    first = stored_rain(db, T0)
    assert 0 < len(first) <= n_villages
    assert s.loaded["village_rain"] == len(first) + len(stored_rain(db, T0 + timedelta(hours=1)))
    assert db.execute("SELECT count(*) FROM village_rain_row").fetchone()[0] == 0
    # one row per village and period, as the primary key of the table guaranteed
    dupes = db.execute(
        "SELECT count(*) FROM (SELECT 1 FROM village_rain GROUP BY village_code, product,"
        " valid_start, valid_end, issued_at HAVING count(*) > 1) d"
    ).fetchone()[0]
    assert dupes == 0
    assert all(m >= 0 and x + 1e-9 >= m and 0 < c <= 1 for m, x, c in first.values())


def test_a_period_stored_again_follows_the_per_village_rule(db, tmp_path: Path) -> None:
    """Full grid, then the same hour again wetter (replaces), then a grid of the same hour
    covering only the west (the villages it covers less keep their values)."""
    zonal_cache.clear_memory_cache()
    a = ingest_file(db, write_qpe_netcdf(tmp_path / "a.nc", [field(1)]), data_dir=tmp_path)
    assert a.status == "loaded", a.message
    before = stored_rain(db, T0)
    wetter = field(1) + 5.0
    b = ingest_file(db, write_qpe_netcdf(tmp_path / "b.nc", [wetter]), data_dir=tmp_path)
    assert b.status == "loaded", b.message
    assert db.execute("SELECT count(*) FROM village_rain_grid").fetchone()[0] == 0  # rows now
    after = stored_rain(db, T0)
    assert set(after) == set(before)
    for code, (m, _x, c) in after.items():
        assert m == pytest.approx(before[code][0] + 5.0, abs=1e-4)
        assert c == pytest.approx(before[code][2], abs=1e-12)
    west = wetter + 10.0
    west[:, NX // 2 :] = np.nan  # the eastern half has no data
    c_ = ingest_file(db, write_qpe_netcdf(tmp_path / "c.nc", [west]), data_dir=tmp_path)
    assert c_.status == "loaded", c_.message
    last = stored_rain(db, T0)
    assert set(last) == set(before)
    replaced = {k for k, v in last.items() if v[0] > after[k][0] + 9.0}
    kept = {k for k, v in last.items() if v == after[k]}
    assert replaced and kept and replaced | kept == set(last)
    assert all(last[k][2] == pytest.approx(1.0, abs=1e-9) for k in replaced)
    dupes = db.execute(
        "SELECT count(*) FROM (SELECT 1 FROM village_rain WHERE valid_start = %s"
        " GROUP BY village_code HAVING count(*) > 1) d",
        (T0,),
    ).fetchone()[0]
    assert dupes == 0


def test_insert_and_delete_through_the_view(db, tmp_path: Path) -> None:
    s = ingest_file(db, write_qpe_netcdf(tmp_path / "a.nc", [field(4)]), data_dir=tmp_path)
    assert s.status == "loaded", s.message
    stored = stored_rain(db, T0)
    code = sorted(stored)[0]
    # a village row for a key held by a grid row: the grid row becomes rows first
    db.execute(
        "INSERT INTO village_rain (village_code, product, valid_start, valid_end, issued_at,"
        " mean_mm, max_mm, coverage) VALUES (%s, 'qpe', %s, %s, %s, 1, 1, 1)"
        " ON CONFLICT DO NOTHING",
        (code, T0, T0 + timedelta(hours=1), T0 + timedelta(hours=1)),
    )
    assert db.execute("SELECT count(*) FROM village_rain_grid").fetchone()[0] == 0
    assert stored_rain(db, T0) == stored  # the existing value stays (DO NOTHING)
    deleted = db.execute(
        "DELETE FROM village_rain WHERE village_code = %s AND valid_start = %s", (code, T0)
    ).rowcount
    assert deleted == 1
    left = stored_rain(db, T0)
    assert code not in left and len(left) == len(stored) - 1


def test_deleted_villages_leave_the_grid_rain(db, tmp_path: Path) -> None:
    s = ingest_file(db, write_qpe_netcdf(tmp_path / "a.nc", [field(5)]), data_dir=tmp_path)
    assert s.status == "loaded", s.message
    stored = stored_rain(db, T0)
    code = sorted(stored)[len(stored) // 2]
    token = db.execute("SELECT token FROM village_version").fetchone()[0]
    db.execute("DELETE FROM admin_unit WHERE code = %s", (code,))
    assert db.execute("SELECT token FROM village_version").fetchone()[0] != token
    left = stored_rain(db, T0)
    assert set(left) == set(stored) - {code}
    assert all(left[k] == stored[k] for k in left)
    db.rollback()  # the demo county stays whole for the other tests


def test_east_of_the_grid_is_not_stored(db, tmp_path: Path) -> None:
    s = ingest_file(db, write_qpe_netcdf(tmp_path / "a.nc", [field(6)]), data_dir=tmp_path)
    assert s.status == "loaded", s.message
    codes = db.execute(
        "SELECT code FROM admin_unit WHERE level = 'village' AND gb2260 = '431226'"
        " AND ST_XMin(geom) >= %s",
        (LON0 + CELL * NX,),
    ).fetchall()
    assert codes and not {c[0] for c in codes} & set(stored_rain(db, T0))
