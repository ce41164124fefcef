"""Reloading a county keeps what was loaded and reported (issue 17, first weakness).

Load the demo county, ingest rain grids (one period twice, so it is stored as village rows),
gauge and river tables, post field reports, run the rules; reload the same county, then a
"yearly update" of it: a few outlines changed, one village re-coded. The oracle for the rain is
independent of the reload code: a fresh database loaded with the updated county and fed the
same files in the same order.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import netCDF4
import numpy as np
import pandas as pd
import psycopg
import pytest
import shapely

from riskmap.api.users import add_user
from riskmap.geo.demo.county import DemoCounty, generate
from riskmap.geo.demo.load import load
from riskmap.geo.grids.netcdf import find_rain_variable
from riskmap.geo.reports import ReportInput, create
from riskmap.geo.warnings.cycle import run_cycle
from riskmap.ingest.pipeline import ingest_file
from tests.conftest import BUNDLED_BOUNDARIES, ROOT, make_scratch_dir
from tests.reliability.conftest import new_database

STORM = ROOT / "data" / "scenarios" / "storm-431226"
GRIDS = ["20260714T0500Z_qpe_1h.nc", "20260714T0600Z_qpe_1h.nc", "20260714T0230Z_qpf_6h.nc"]
TABLES = ["20260714T0605Z_ST_PPTN_R.csv", "20260714T0610Z_ST_RIVER_R.csv"]
RAIN = """SELECT village_code, product, valid_start, valid_end, issued_at, mean_mm, max_mm,
                 coverage FROM village_rain WHERE product IN ('qpe', 'qpf')"""
KEY = ["village_code", "product", "valid_start", "valid_end", "issued_at"]


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    path = make_scratch_dir("reload-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def county(scratch: Path) -> DemoCounty:
    from riskmap.api.cli.common import DEFAULT_SEED  # the bundled storm's stations

    return generate(
        "431226",
        villages=None,
        seed=DEFAULT_SEED,
        bundled_path=BUNDLED_BOUNDARIES,
        out_dir=scratch / "demo",
        roster_start=datetime(2026, 7, 10, tzinfo=UTC),
    )


@pytest.fixture(scope="module")
def feeds(scratch: Path) -> list[Path]:
    """The storm files, plus a second, drier analysis of the 06:00 hour (a corrected grid)."""
    corrected = scratch / "feeds" / "20260714T0600Z_qpe_1h_corrected.nc"
    corrected.parent.mkdir()
    shutil.copy(STORM / "20260714T0600Z_qpe_1h.nc", corrected)
    with netCDF4.Dataset(corrected, "r+") as nc:
        group, name = find_rain_variable(nc)
        var = nc[group][name] if group != "/" else nc[name]
        var[:] = np.asarray(var[:]) * 0.8
    return [STORM / n for n in GRIDS] + [corrected] + [STORM / n for n in TABLES]


def updated(demo: DemoCounty) -> tuple[DemoCounty, dict[str, str], list[str]]:
    """The county after a yearly update: one village re-coded, four outlines trimmed."""
    villages = demo.tables["admin_unit"]
    codes = sorted(villages.loc[villages["level"] == "village", "code"])
    old = codes[0]
    new = old[:9] + "399"
    tables = {}
    for name, frame in demo.tables.items():
        frame = frame.copy()
        for col in frame.columns:
            if frame[col].dtype == object and frame[col].isin([old, old.ljust(12, "0")]).any():
                frame[col] = frame[col].replace({old: new})
        tables[name] = frame
    units = tables["admin_unit"]
    trimmed = codes[5:9]
    for code in trimmed:
        i = units.index[units["code"] == code][0]
        geom = units.at[i, "geometry"] if "geometry" in units else units.at[i, "geom"]
        x0, y0, x1, y1 = geom.bounds
        cut = shapely.box(x0, y0, (x0 + x1) / 2 + (x1 - x0) * 0.2, y1)
        part = shapely.MultiPolygon([p for p in _polygons(geom.intersection(cut))])
        units.at[i, "geometry" if "geometry" in units else "geom"] = part
    return DemoCounty(demo.county, demo.dataset, demo.outlines, tables), {old: new}, trimmed


def _polygons(geom):
    return [g for g in getattr(geom, "geoms", [geom]) if g.geom_type == "Polygon"]


def ingest_all(url: str, files: list[Path], data_dir: Path) -> None:
    with psycopg.connect(url) as conn:
        for path in files:
            summary = ingest_file(conn, path, data_dir=data_dir)
            assert summary.status == "loaded", (path.name, summary)


def rain(conn: psycopg.Connection) -> pd.DataFrame:
    with conn.cursor() as cur:
        rows = cur.execute(RAIN).fetchall()
        cols = [d.name for d in cur.description]
    return pd.DataFrame(rows, columns=cols).sort_values(KEY).reset_index(drop=True)


def state(conn: psycopg.Connection) -> dict:
    """What must survive any reload: provenance, observations, reports, warnings."""
    one = lambda q: conn.execute(q).fetchall()  # noqa: E731
    return {
        "ingest_log": one(
            "SELECT id, kind, source, status, rows_loaded FROM ingest_log ORDER BY id"
        ),
        "rain_obs": one("SELECT count(*) FROM rain_obs")[0][0],
        "river_obs": one("SELECT count(*) FROM river_obs")[0][0],
        "reports": one("SELECT id, kind, text, status FROM field_report ORDER BY id"),
        "warnings": one("SELECT id, status, current_version FROM warning ORDER BY id"),
        "versions": one("SELECT count(*) FROM warning_version")[0][0],
        "audit": one("SELECT count(*) FROM warning_audit")[0][0],
    }


def report(conn: psycopg.Connection, code: str, data_dir: Path) -> int:
    lon, lat = conn.execute(
        "SELECT ST_X(label_point), ST_Y(label_point) FROM admin_unit WHERE code = %s", [code]
    ).fetchone()
    observed = datetime.now(UTC) - timedelta(hours=1)
    body = ReportInput(kind="flood", lon=lon, lat=lat, observed_at=observed, text=f"水淹 {code}")
    return create(conn, body, "reporter-1", [], data_dir)


def test_reload_keeps_rain_reports_and_warnings(
    pg_cluster, county: DemoCounty, feeds: list[Path], scratch: Path
) -> None:
    url, oracle = new_database(pg_cluster), new_database(pg_cluster)
    data_dir, cache = scratch / "data", scratch / "data" / "cache"
    new_county, recoded, trimmed = updated(county)
    ((old_code, new_code),) = recoded.items()
    with psycopg.connect(url) as conn:
        load(conn, county, grid_cache_dir=cache)
    ingest_all(url, feeds, data_dir)
    with psycopg.connect(url) as conn:
        add_user(conn, "reporter-1", "reporter")
        reports = {code: report(conn, code, data_dir) for code in (old_code, trimmed[0])}
        run_cycle(conn, datetime(2026, 7, 14, 7, tzinfo=UTC))
        conn.commit()
        before, rain_before = state(conn), rain(conn)
        old_values = conn.execute(  # gauge rows too
            "SELECT count(*) FROM village_rain WHERE village_code = %s", [old_code]
        ).fetchone()[0]
        assert len(before["warnings"]) > 0 and len(rain_before) > 0
        row_periods = conn.execute("SELECT count(DISTINCT valid_end) FROM village_rain_row "
                                   "WHERE product = 'qpe'").fetchone()[0]  # fmt: skip
        assert row_periods == 1  # the corrected hour is stored as village rows

        load(conn, county, grid_cache_dir=cache)  # the same county again
        assert state(conn) == before
        pd.testing.assert_frame_equal(rain(conn), rain_before)

        load(conn, new_county, grid_cache_dir=cache)  # the yearly update
        after, rain_after = state(conn), rain(conn)
        moved = conn.execute(
            "SELECT village_code FROM field_report WHERE id = %s", [reports[old_code]]
        ).fetchone()[0]
        changes = conn.execute(
            "SELECT change, table_name, key, rows FROM dataset_reload_change c"
            " JOIN dataset_reload r ON r.id = c.reload_id ORDER BY r.id, c.n"
        ).fetchall()

    # nothing lost: provenance, observations, reports (one moved with its village), warnings
    assert after == before
    assert moved == new_code
    # villages neither re-coded nor trimmed keep their values exactly
    kept = ~rain_before["village_code"].isin([old_code, *trimmed])
    same = rain_after[rain_after["village_code"].isin(rain_before.loc[kept, "village_code"])]
    pd.testing.assert_frame_equal(
        same.reset_index(drop=True), rain_before[kept].reset_index(drop=True)
    )

    # the oracle: a fresh database with the updated county and the same files
    with psycopg.connect(oracle) as conn:
        load(conn, new_county)
    ingest_all(oracle, feeds, scratch / "oracle-data")
    with psycopg.connect(oracle) as conn:
        expected = rain(conn)
    pd.testing.assert_frame_equal(rain_after, expected, check_exact=False, rtol=1e-9, atol=1e-9)
    assert set(trimmed) | {new_code} <= set(rain_after["village_code"])

    # and every loss or move is written down with its reason
    assert ("moved", "field_report", str(reports[old_code]), 1) in changes
    assert ("removed", "admin_unit", old_code, 1) in changes
    dropped = sum(r[3] for r in changes if r[:3] == ("dropped", "village_rain", old_code))
    dropped += sum(r[3] for r in changes if r[:3] == ("dropped", "village_rain_row", old_code))
    assert dropped == old_values
    recomputed = {r[2] for r in changes if r[0] == "recomputed"}
    assert recomputed == set(trimmed) | {new_code}
