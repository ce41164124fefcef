"""The what-if dry run fires the real rules for hypothetical rain and leaves nothing behind."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
import xarray as xr

from riskmap.geo.planner.whatif import WhatIfError, dry_run, impact, uniform

AT = datetime(2031, 7, 15, 6, tzinfo=UTC)  # no observed rain in the 6 h before
TABLES = ("warning", "outbox", "village_rain_row", "village_rain_grid", "village_set")


def _counts(conn) -> dict[str, int]:
    return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def _thresholds(conn) -> dict[str, dict[int, float]]:
    """Each village's evacuate-now rainfall per duration, chosen here in Python: the 'any'
    soil-state row, else 'normal', else the lowest."""
    rows = conn.execute(
        "SELECT village_code, duration_h, soil_state, immediate_mm FROM flash_flood_threshold"
    ).fetchall()
    rank = {"any": 0, "normal": 1}
    best: dict[tuple[str, int], tuple] = {}
    for code, hours, soil, mm in rows:
        key = (rank.get(soil, 2), mm)
        if (code, hours) not in best or key < best[(code, hours)][0]:
            best[(code, hours)] = (key, mm)
    out: dict[str, dict[int, float]] = {}
    for (code, hours), (_, mm) in best.items():
        out.setdefault(code, {})[hours] = mm
    return out


def _evacuate(thresholds, codes, mm: float, hours: int = 3) -> set[str]:
    """Villages where some window reaches its threshold: rain spread evenly over ``hours``."""
    windows = {1: mm / hours, 3: mm if hours <= 3 else mm * 3 / hours, 6: mm}
    return {
        c
        for c in codes
        if any(windows.get(h, -1) >= t for h, t in thresholds.get(c, {}).items() if h in windows)
    }


@pytest.fixture
def township(conn, mayang):
    """A township with thresholds that differ between its villages."""
    rows = conn.execute(
        "SELECT v.township_code, count(DISTINCT t.immediate_mm) FROM village v "
        "JOIN flash_flood_threshold t ON t.village_code = v.code AND t.duration_h = 3 "
        "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1"
    ).fetchone()
    assert rows and rows[1] > 1
    return rows[0]


def test_evacuate_now_fires_where_the_threshold_is_reached(conn, township):
    thresholds = _thresholds(conn)
    rain = uniform(conn, township, mm=1.0, hours=3)
    now_3h = sorted(thresholds[c][3] for c in rain.index if 3 in thresholds.get(c, {}))
    mm = float(np.median(now_3h)) + 0.5  # some villages over it, some under (no float ties)
    rain = uniform(conn, township, mm=mm, hours=3)
    before = _counts(conn)

    run = dry_run(conn, AT, village_rain=rain)

    assert _counts(conn) == before
    expected = _evacuate(thresholds, rain.index, mm)
    assert expected and expected != set(rain.index)
    assert set(run.villages(action="evacuate_now")) == expected
    red = run.table.query("action == 'evacuate_now'")
    assert set(red["rule_id"]) == {"flash_flood.observed"} and set(red["colour"]) == {"red"}
    assert (red["rain_3h"] == round(mm, 3)).all()
    assert (red[["rain_1h", "rain_3h", "rain_6h"]].ge(0)).all().all()
    summary = run.summary.set_index("rule_id")
    assert summary.loc["flash_flood.observed"].query("colour == 'red'")["villages"].item() == len(
        expected
    )
    assert not set(run.villages()) - set(rain.index)  # nothing outside the township


def test_nothing_persists_in_an_autocommit_connection(db_url, mayang, township):
    import psycopg

    with psycopg.connect(db_url, autocommit=True) as c:
        before = _counts(c)
        run = dry_run(c, AT, village_rain=uniform(c, township, mm=400.0, hours=3))
        assert run.villages(action="evacuate_now")
        assert _counts(c) == before


def test_rain_field_gives_the_same_as_the_series(conn, mayang, township):
    thresholds = _thresholds(conn)
    west, south, east, north = conn.execute(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
        "(SELECT ST_Extent(geom)::geometry AS e FROM village WHERE county_code = '431226') s"
    ).fetchone()
    step = 0.01
    xs = np.arange(west - step, east + 2 * step, step)
    ys = np.arange(north + step, south - 2 * step, -step)
    field = xr.DataArray(np.full((len(ys), len(xs)), 90.5), coords={"y": ys, "x": xs},
                         dims=("y", "x"), attrs={"crs": "EPSG:4326"})  # fmt: skip
    run = dry_run(conn, AT, rain_field=field, duration_h=3)
    assert np.allclose(run.rain.to_numpy(), 90.5)
    expected = _evacuate(thresholds, run.rain.index, 90.5)
    assert expected and set(run.villages(action="evacuate_now")) == expected


def test_impact_delegates_to_the_impact_summary(conn, township):
    run = dry_run(conn, AT, village_rain=uniform(conn, township, mm=400.0, hours=3))
    report = impact(conn, run)
    codes = run.villages(action="evacuate_now", hazard="flash_flood")
    assert sorted(v["code"] for v in report["villages"]) == codes
    assert report["totals"]["population"] > 0 and "evacuation" in report


def test_bad_inputs_raise_clear_errors(conn, township):
    rain = uniform(conn, township, mm=50.0, hours=3)
    with pytest.raises(WhatIfError, match="timezone-aware"):
        dry_run(conn, datetime(2031, 7, 15, 6), village_rain=rain)
    with pytest.raises(WhatIfError, match="exactly one of"):
        dry_run(conn, AT)
    with pytest.raises(WhatIfError, match="unknown village codes: 999999999999"):
        dry_run(conn, AT, village_rain={"999999999999": 10.0})
    with pytest.raises(WhatIfError, match="from 0 to"):
        dry_run(conn, AT, village_rain=rain * -1)
    with pytest.raises(WhatIfError, match="duration_h=6 but the rain series is for 3 hours"):
        dry_run(conn, AT, village_rain=rain, duration_h=6)
    with pytest.raises(WhatIfError, match="no administrative unit"):
        uniform(conn, "000000000", mm=80.0)
    with pytest.raises(WhatIfError, match="from 1 to 72"):
        uniform(conn, township, mm=80.0, hours=0)
    with pytest.raises(WhatIfError, match="no CRS"):
        dry_run(conn, AT, rain_field=xr.DataArray(np.zeros((2, 2)), dims=("y", "x")))
