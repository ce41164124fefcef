"""The frequency batch on real PostGIS: hand-made villages of the demo county with archive
maxima and critical rainfall set far below, far above and inside their data; the stored rows,
flags, counts, the 'any'-before-'normal' rule, atomic replacement and the planner's loader."""

from __future__ import annotations

import math

import numpy as np
import psycopg
import pytest
from scipy import stats

from riskmap.geo import planner
from riskmap.geo.frequency import run_frequency

SOURCE = "test-frequency"
HOURS = 6
YEARS = list(range(2015, 2025))


def _villages(conn: psycopg.Connection, n: int) -> list[str]:
    return [r[0] for r in conn.execute("SELECT code FROM village ORDER BY code LIMIT %s", [n])]


def _archive(conn, source: str, code: str, maxima, *, complete=True, first=2015) -> None:
    conn.cursor().executemany(
        "INSERT INTO village_rain_annual_max (source, village_code, duration_h, year, max_mm,"
        " hours, complete) VALUES (%s, %s, %s, %s, %s, %s, %s)",
        [(source, code, HOURS, first + i, float(x), 8760, complete) for i, x in enumerate(maxima)],
    )


def _threshold(conn, code: str, soil: str, prepare: float, immediate: float) -> None:
    conn.execute(
        "INSERT INTO flash_flood_threshold (village_code, duration_h, soil_state, prepare_mm,"
        " immediate_mm, method, dataset_id) SELECT %s, %s, %s, %s, %s, 'test', id FROM dataset"
        " ORDER BY id LIMIT 1",
        [code, HOURS, soil, prepare, immediate],
    )


@pytest.fixture
def villages(mayang, conn: psycopg.Connection) -> dict[str, list[float]]:
    """Four villages: A thresholds far outside its data, B inside ('normal' only), C with
    'any' and 'normal' thresholds, D three complete years only."""
    a, b, c, d = _villages(conn, 4)
    conn.execute(
        "DELETE FROM flash_flood_threshold WHERE village_code = ANY(%s) AND duration_h = %s",
        [[a, b, c, d], HOURS],
    )
    data = {
        code: list(stats.gumbel_r(60, 15).rvs(10, random_state=i))
        for i, code in enumerate((a, b, c))
    }
    for code, maxima in data.items():
        _archive(conn, SOURCE, code, maxima)
    _archive(conn, SOURCE, a, [999.0], complete=False, first=2014)  # an incomplete year
    _archive(conn, SOURCE, d, [50.0, 70.0, 65.0])
    _threshold(conn, a, "any", 20.0, 400.0)
    _threshold(conn, b, "normal", 60.0, 90.0)
    _threshold(conn, b, "wet", 10.0, 15.0)  # conditional: never used
    _threshold(conn, c, "any", 25.0, 30.0)
    _threshold(conn, c, "normal", 300.0, 350.0)
    data[d] = [50.0, 70.0, 65.0]
    return data


def _rows(conn, source: str = SOURCE) -> dict[str, dict]:
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute(
            "SELECT * FROM village_rain_frequency WHERE source = %s ORDER BY village_code",
            [source],
        )
        return {r["village_code"]: r for r in cur.fetchall()}


def test_batch_stores_fits_periods_and_flags(conn: psycopg.Connection, villages) -> None:
    a, b, c, d = villages
    summary = run_frequency(conn, SOURCE, bootstrap_samples=100, seed=1)
    assert (summary.series, summary.fitted, summary.not_fitted) == (4, 3, 1)
    rows = _rows(conn)
    assert set(rows) == {a, b, c, d}

    ra = rows[a]  # the 999 mm of the incomplete year is left out
    assert ra["n_years"] == 10 and (ra["first_year"], ra["last_year"]) == (2015, 2024)
    loc, scale = stats.gumbel_r.fit(villages[a])
    assert (ra["distribution"], ra["loc"], ra["scale"]) == (
        "gumbel",
        pytest.approx(loc),
        pytest.approx(scale),
    )
    assert [lv["period"] for lv in ra["return_levels"]] == [2, 5, 10, 20, 50, 100]
    rl100 = ra["return_levels"][-1]
    assert rl100["mm"] == pytest.approx(loc - scale * math.log(-math.log(0.99)), abs=1e-3)
    assert rl100["lower"] < rl100["mm"] < rl100["upper"]
    assert ra["soil_state"] == "any" and ra["prepare_years_exceeded"] == 10
    assert ra["prepare_flag"] == "over_warn" and ra["prepare_t_pds"] < 1 <= ra["prepare_t_am"]
    assert ra["immediate_years_exceeded"] == 0 and ra["immediate_flag"] == "may_never_warn"
    assert ra["immediate_t_am"] > 50

    rb = rows[b]  # 'normal' is used where there is no 'any'; 60 mm sits inside the data
    assert rb["soil_state"] == "normal" and rb["prepare_mm"] == 60.0
    assert rb["prepare_years_exceeded"] == sum(x >= 60.0 for x in villages[b])
    loc, scale = stats.gumbel_r.fit(villages[b])
    t_am = 1 / stats.gumbel_r.sf(60.0, loc, scale)
    assert rb["prepare_t_am"] == pytest.approx(t_am, rel=1e-6)
    assert rb["prepare_t_pds"] == pytest.approx(-1 / math.log(1 - 1 / t_am), rel=1e-6)
    assert rb["prepare_flag"] is None and rb["immediate_flag"] is None

    rc = rows[c]  # 'any' wins over 'normal'
    assert (rc["soil_state"], rc["prepare_mm"], rc["immediate_mm"]) == ("any", 25.0, 30.0)

    rd = rows[d]
    assert rd["distribution"] is None and rd["loc"] is None and rd["return_levels"] == []
    assert rd["n_years"] == 3 and "fewer than 5" in rd["note"]
    assert rd["prepare_mm"] is None  # d has no threshold at this duration


def test_a_run_replaces_its_source_only(conn: psycopg.Connection, villages) -> None:
    a, b, c, d = villages
    _archive(conn, "other-source", a, np.linspace(30, 90, 8))
    run_frequency(conn, SOURCE, bootstrap_samples=10)
    run_frequency(conn, "other-source", bootstrap_samples=10)
    conn.execute("DELETE FROM village_rain_annual_max WHERE source = %s AND village_code = %s",
                 [SOURCE, d])  # fmt: skip
    run_frequency(conn, SOURCE, bootstrap_samples=10)
    assert set(_rows(conn)) == {a, b, c}
    assert set(_rows(conn, "other-source")) == {a}
    empty = run_frequency(conn, "no-such-source")
    assert empty.series == 0 and set(_rows(conn)) == {a, b, c}


def test_planner_frequency_loader(conn: psycopg.Connection, villages) -> None:
    a, b, c, d = villages
    run_frequency(conn, SOURCE, bootstrap_samples=50)
    gdf = planner.frequency(conn, source=SOURCE)
    assert list(gdf["village_code"]) == [a, b, c, d]
    assert gdf.crs.to_epsg() == 4326 and gdf.geometry.notna().all()
    row = gdf.set_index("village_code").loc[a]
    loc, scale = stats.gumbel_r.fit(villages[a])
    assert row["rl_10_mm"] == pytest.approx(stats.gumbel_r.isf(0.1, loc, scale), abs=1e-3)
    assert row["rl_10_lower"] < row["rl_10_mm"] < row["rl_10_upper"]
    assert math.isnan(gdf.set_index("village_code").loc[d, "rl_10_mm"])
    flagged = planner.frequency(conn, source=SOURCE, flagged=True)
    assert set(flagged["village_code"]) == {a, c}  # c: 25 mm far below its ~60 mm maxima
    one = planner.annual_maxima(conn, source=SOURCE, villages=a)
    assert len(one) == 11 and one["complete"].sum() == 10
    sources = planner.frequency_sources(conn)
    assert SOURCE in set(sources["source"])
