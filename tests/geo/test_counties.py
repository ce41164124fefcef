"""Counties side by side (issue 12): loading, reloading or building one county never changes
another's rows; the risk build maps every village of every county on its own terrain; a rain
grid over both counties reaches the villages of both.

Two small demo counties far apart (Mayang 431226 and Hengyang county 430421) are loaded into two
databases in both orders. Each county's rows are fingerprinted per table (count and md5 of its
ordered rows, the tables and the clause picking a county's rows written out by hand below) and
compared before and after the other county's load, reload and build.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import psycopg
import pytest
from psycopg import sql

from riskmap.geo.db.migrate import migrate
from riskmap.geo.demo.county import DemoCounty, generate
from riskmap.geo.demo.load import load
from riskmap.geo.risk.build import build_risk
from riskmap.geo.risk.counties import build_counties, county_dems
from tests.conftest import BUNDLED_BOUNDARIES, clone_database, drop_database, make_scratch_dir

A, B = "431226", "430421"
VILLAGES = 24  # per county: small, the DEMs stay full size

# A county's rows in each table, by hand: (table, clause on t picking county %(c)s / dataset %(ds)s)
_DS = "t.dataset_id = %(ds)s"
_PERSON = "t.person_id IN (SELECT id FROM person WHERE dataset_id = %(ds)s)"
_STATION = "t.stcd IN (SELECT stcd FROM station WHERE dataset_id = %(ds)s)"
_TEAM = "t.team_id IN (SELECT id FROM rescue_team WHERE dataset_id = %(ds)s)"
COUNTY_ROWS = {
    "admin_unit": "t.gb2260 = %(c)s AND t.level IN ('township', 'village')",
    "facility": "left(t.village_code, 6) = %(c)s",
    "person": _DS,
    "station": _DS,
    "river_indicator": _STATION,
    "reservoir": _STATION,
    "reservoir_flood_limit": _STATION,
    "station_village": "left(t.village_code, 6) = %(c)s",
    "river": _DS,
    "dike": _DS,
    "raster_layer": f"{_DS} OR (t.kind = 'forest' AND t.path LIKE %(files)s)",
    "flash_flood_threshold": _DS,
    "rain_threshold_default": _DS,
    "hazard_point": _DS,
    "warehouse": _DS,
    "stock": "t.warehouse_id IN (SELECT id FROM warehouse WHERE dataset_id = %(ds)s)",
    "shelter": _DS,
    "rescue_team": _DS,
    "team_member": _TEAM,
    "team_equipment": _TEAM,
    "expert": _DS,
    "vehicle": _DS,
    "broadcast_terminal": _DS,
    "hazardous_site": _DS,
    "sensor": _DS,
    "duty": _PERSON,
    "duty_shift": _DS,
    "village_risk": "left(t.village_code, 6) = %(c)s",
    "tile_admin_unit": "t.gb2260 = %(c)s",
    "tile_cut": "t.gb2260 = %(c)s",
    "village_rain": "left(t.village_code, 6) = %(c)s",
}
# Values that differ between two databases holding the same rows (identity ids, load times; the
# risk maps' inputs name the datasets' load times) are left out when databases are compared.
PORTABLE_DROP = ["id", "updated_at", "computed_at", "inputs"]


def fingerprint(
    conn: psycopg.Connection, county: str, files: Path, drop: list[str] | None = None
) -> dict[str, tuple[int, str]]:
    """(row count, md5 of the ordered rows as JSON) of each table's rows of ``county``."""
    out = {}
    params = {"c": county, "ds": f"demo-{county}", "files": f"{files}%", "drop": drop or []}
    for table, where in COUNTY_ROWS.items():
        q = (
            "SELECT count(*), md5(coalesce(string_agg(j, '|' ORDER BY j), ''))"
            f" FROM (SELECT (to_jsonb(t) - %(drop)s::text[])::text AS j FROM {table} t"
            f" WHERE {where}) s"
        )
        n, digest = conn.execute(q, params).fetchone()
        out[table] = (n, digest)
    return out


def villages_of(demo: DemoCounty) -> set[str]:
    """The village codes the generator made (read from its frames, not from the database)."""
    frame = demo.tables["admin_unit"]
    return set(frame.loc[frame.level == "village", "code"])


@pytest.fixture(scope="module")
def files() -> Iterator[Path]:
    path = make_scratch_dir("counties-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def demos(files: Path) -> dict[str, DemoCounty]:
    return {
        c: generate(
            c,
            villages=VILLAGES,
            seed=11,
            bundled_path=BUNDLED_BOUNDARIES,
            out_dir=files / c,
            roster_start=datetime(2026, 7, 1, tzinfo=UTC),
        )
        for c in (A, B)
    }


@pytest.fixture(scope="module")
def empty_url(pg_cluster) -> Iterator[str]:
    """A migrated, empty database of this module (copied for each order)."""
    name = f"t_counties_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_cluster.url_for("postgres"), autocommit=True) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = pg_cluster.url_for(name)
    migrate(url)
    yield url
    drop_database(pg_cluster, url)


def _load_and_build(url: str, demos: dict, order: tuple[str, str], files: Path) -> dict:
    """Load the counties in ``order``, checking each step leaves the other county alone."""
    first, second = order
    with psycopg.connect(url) as conn:
        load(conn, demos[first])
        build_counties(conn, [first], cache_dir=files / "cache")
        before = fingerprint(conn, first, files / first)
        assert before["village_risk"][0] == 3 * len(villages_of(demos[first]))

        load(conn, demos[second])  # loading the second county
        assert fingerprint(conn, first, files / first) == before
        build_counties(conn, [second], cache_dir=files / "cache")  # building it
        assert fingerprint(conn, first, files / first) == before
        other = fingerprint(conn, second, files / second)

        load(conn, demos[first])  # reloading the first: its maps go, the second's stay
        assert fingerprint(conn, second, files / second) == other
        runs = build_counties(conn, cache_dir=files / "cache")  # every county, no --county
        assert not runs.no_dem and not runs.skipped
        assert sorted(c for codes, _ in runs.runs for c in codes) == sorted(order)
        return {c: fingerprint(conn, c, files / c, PORTABLE_DROP) for c in order}


def test_counties_keep_their_own_rows_in_both_orders(pg_cluster, empty_url, demos, files) -> None:
    results = []
    for order in ((A, B), (B, A)):
        url = clone_database(pg_cluster, empty_url, prefix="t_order")
        try:
            results.append(_load_and_build(url, demos, order, files))
        finally:
            drop_database(pg_cluster, url)
    # the same county's rows whatever was loaded before or after it
    assert results[0] == results[1]
    for county in (A, B):
        fp = results[0][county]
        n = len(villages_of(demos[county]))
        assert fp["village_risk"][0] == 3 * n, county  # every village, every hazard
        assert fp["tile_admin_unit"][0] > 0 and fp["person"][0] > 0


@pytest.fixture(scope="module")
def both_url(pg_cluster, empty_url, demos, files) -> Iterator[str]:
    """Both counties loaded (A first) and their maps built."""
    url = clone_database(pg_cluster, empty_url, prefix="t_both")
    with psycopg.connect(url) as conn:
        for c in (A, B):
            load(conn, demos[c])
        build_counties(conn, cache_dir=files / "cache")
    yield url
    drop_database(pg_cluster, url)


def test_each_county_is_mapped_on_its_own_dem(both_url, demos) -> None:
    with psycopg.connect(both_url) as conn:
        chosen = {c.county: c.dem_id for c in county_dems(conn)}
        assert chosen == {A: f"dem-{A}", B: f"dem-{B}"}
        for c in (A, B):
            rows = conn.execute(
                "SELECT DISTINCT village_code, inputs->'dem'->>'path' FROM village_risk"
                " WHERE left(village_code, 6) = %s",
                [c],
            ).fetchall()
            assert {r[0] for r in rows} == villages_of(demos[c])
            assert {r[1] for r in rows} == {demos[c].tables["raster_layer"].path.iloc[0]}


def test_rebuilding_one_county_leaves_the_other_untouched(both_url, files) -> None:
    with psycopg.connect(both_url) as conn:
        other = fingerprint(conn, B, files / B)  # computed_at included
        runs = build_counties(conn, [A], cache_dir=files / "cache")
        assert [codes for codes, _ in runs.runs] == [(A,)]
        assert fingerprint(conn, B, files / B) == other
        # one DEM given by hand for every village (the old `--dem` way): the other county's
        # villages lie outside it and keep their maps instead of losing them
        dem_a = conn.execute("SELECT path FROM raster_layer WHERE id = %s", [f"dem-{A}"]).fetchone()
        result = build_risk(conn, dem_a[0], cache_dir=files / "cache")
        conn.commit()
        assert len(result.skipped) > 0 and all(c.startswith(B) for c in result.skipped)
        assert fingerprint(conn, B, files / B) == other


def test_a_rain_grid_over_both_counties_reaches_every_village(both_url, demos, files) -> None:
    """A grid with 5 mm west of 111° E (Mayang) and 9 mm east (Hengyang): each village's mean
    is its side's value, with full coverage (the expected values are the field's own)."""
    import xarray as xr

    from riskmap.ingest.pipeline import ingest_file

    west, east, south, north = 109.0, 113.5, 26.5, 28.5
    step = 0.02
    lon = np.round(np.arange(west, east, step) + step / 2, 6)
    lat = np.round(np.arange(north, south, -step) - step / 2, 6)
    field = np.where(lon[None, :] < 111.0, 5.0, 9.0) * np.ones((len(lat), 1))
    start = datetime(2026, 8, 1, 0, tzinfo=UTC)
    end = start + timedelta(hours=1)
    naive = [np.datetime64(t.replace(tzinfo=None), "s") for t in (start, end)]
    ds = xr.Dataset(
        {
            "precipitation_amount": (
                ("time", "lat", "lon"),
                field[None].astype("float32"),
                {"standard_name": "precipitation_amount", "units": "kg m-2"},
            ),
            "time_bnds": (("time", "nv"), np.array([naive], dtype="datetime64[s]")),
        },
        coords={
            "time": ("time", np.array([naive[1]]), {"bounds": "time_bnds"}),
            "lat": ("lat", lat, {"standard_name": "latitude", "units": "degrees_north"}),
            "lon": ("lon", lon, {"standard_name": "longitude", "units": "degrees_east"}),
        },
        attrs={"Conventions": "CF-1.8"},
    )
    path = files / "20260801T0100Z_qpe_1h.nc"
    hours = {"units": "hours since 1970-01-01 00:00:00"}
    ds.to_netcdf(path, encoding={"time": {**hours, "calendar": "standard"}, "time_bnds": hours})
    with psycopg.connect(both_url) as conn:
        summary = ingest_file(conn, path, data_dir=files / "data")
        assert summary.status == "loaded", summary.message
        for county, mm in ((A, 5.0), (B, 9.0)):
            rows = conn.execute(
                "SELECT village_code, mean_mm, coverage FROM village_rain"
                " WHERE left(village_code, 6) = %s AND valid_end = %s AND product = 'qpe'",
                [county, end],
            ).fetchall()
            assert {r[0] for r in rows} == villages_of(demos[county])
            np.testing.assert_allclose([r[1] for r in rows], mm, rtol=1e-6)
            np.testing.assert_allclose([r[2] for r in rows], 1.0, atol=1e-9)
        # reloading Mayang leaves Hengyang's rain (and everything else of it) as it was
        other = fingerprint(conn, B, files / B)
        assert other["village_rain"][0] == len(villages_of(demos[B]))
        load(conn, demos[A])
        assert fingerprint(conn, B, files / B) == other
