"""The demo county: deterministic, loaded into real PostGIS, with counts that add up."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import psycopg
import pytest

from riskmap.geo.demo.county import DemoCounty, generate
from riskmap.geo.demo.load import load, loaded_counts
from tests.conftest import BUNDLED_BOUNDARIES as BUNDLED

ROSTER = datetime(2026, 7, 1, tzinfo=UTC)


def make(code: str, tmp: Path, villages: int | None = None, seed: int = 7) -> DemoCounty:
    return generate(
        code, villages=villages, seed=seed, bundled_path=BUNDLED, out_dir=tmp, roster_start=ROSTER
    )


def scalar(url: str, query: str, params: dict | None = None):
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchone()[0]


def test_mayang_has_222_villages_in_its_real_outline(db_url: str, mayang: DemoCounty) -> None:
    assert mayang.county.name == "麻阳苗族自治县"
    assert scalar(db_url, "SELECT count(*) FROM village WHERE county_code = '431226'") == 222
    # every village lies inside the real county outline (within a metre of rounding)
    outside = scalar(
        db_url,
        "SELECT count(*) FROM village v, admin_unit c WHERE c.code = '431226'"
        " AND NOT ST_CoveredBy(v.geom, ST_Buffer(c.geom::geography, 1)::geometry)",
    )
    assert outside == 0
    # villages tile the county: their area equals the county's to 0.1 %
    ratio = scalar(
        db_url,
        "SELECT sum(ST_Area(v.geom::geography)) / (SELECT ST_Area(geom::geography)"
        " FROM admin_unit WHERE code = '431226') FROM village v WHERE county_code = '431226'",
    )
    assert ratio == pytest.approx(1.0, abs=1e-3)


def test_counts_add_up_from_village_to_township(db_url: str, mayang: DemoCounty) -> None:
    bad = scalar(
        db_url,
        "SELECT count(*) FROM admin_unit t JOIN LATERAL (SELECT sum(population) AS p,"
        " sum(households) AS h FROM admin_unit v WHERE v.parent_code = t.code) s ON true"
        " WHERE t.level = 'township' AND t.gb2260 = '431226'"
        " AND (t.population IS DISTINCT FROM s.p OR t.households IS DISTINCT FROM s.h)",
    )
    assert bad == 0
    with psycopg.connect(db_url) as conn:
        counts = loaded_counts(conn, "demo-431226")
    assert counts["villages"] == 222 and 10 <= counts["townships"] <= 25
    assert counts["population"] == int(
        mayang.tables["admin_unit"].query("level == 'village'").population.sum()
    )


def test_every_village_has_what_the_warnings_need(db_url: str, mayang: DemoCounty) -> None:
    checks = {
        "a broadcast terminal": "SELECT count(*) FROM village v WHERE county_code = '431226'"
        " AND NOT EXISTS (SELECT 1 FROM broadcast_terminal b WHERE b.village_code = v.code)",
        "a rain gauge": "SELECT count(*) FROM village v WHERE county_code = '431226' AND NOT"
        " EXISTS (SELECT 1 FROM station_village s WHERE s.village_code = v.code"
        " AND s.relation = 'rain_area')",
        "a village cadre": "SELECT count(*) FROM village v WHERE county_code = '431226' AND NOT"
        " EXISTS (SELECT 1 FROM duty d WHERE d.admin_code = v.code AND d.role = 'village_cadre')",
    }
    for what, query in checks.items():
        assert scalar(db_url, query) == 0, f"villages without {what}"


def test_hydrology_is_consistent(db_url: str, mayang: DemoCounty) -> None:
    assert scalar(db_url, "SELECT count(*) FROM station WHERE sttp = 'ZQ'") >= 2
    assert scalar(db_url, "SELECT count(*) FROM station WHERE sttp = 'RR'") >= 1
    # every river gauge of the demo has its indicators (the session database may hold other
    # tests' committed stations), every reservoir its 三个责任人 and flood limits
    assert (
        scalar(
            db_url,
            "SELECT count(*) FROM station s LEFT JOIN river_indicator r USING (stcd)"
            " WHERE s.sttp = 'ZQ' AND r.stcd IS NULL AND s.dataset_id = %(ds)s",
            {"ds": mayang.dataset["id"]},
        )
        == 0
    )
    assert scalar(db_url, "SELECT count(*) FROM reservoir_responsibility_gap") == 0
    assert (
        scalar(
            db_url,
            "SELECT count(*) FROM reservoir r WHERE (SELECT count(*) FROM reservoir_flood_limit f"
            " WHERE f.stcd = r.stcd) <> 3 OR EXISTS (SELECT 1 FROM reservoir_flood_limit f"
            " WHERE f.stcd = r.stcd AND f.fsltdz > r.normal_z)",
        )
        == 0
    )
    # gauges concern villages downstream; flash-flood villages sit on streams
    assert scalar(db_url, "SELECT count(*) FROM station_village WHERE relation = 'downstream'") > 0
    on_stream = scalar(
        db_url,
        "SELECT bool_and(EXISTS (SELECT 1 FROM river r WHERE r.strahler >= 2"
        " AND ST_Intersects(r.geom, v.geom))) FROM village v"
        " WHERE v.code IN (SELECT village_code FROM flash_flood_threshold)",
    )
    assert on_stream is True
    # critical rainfall grows with duration
    assert (
        scalar(
            db_url,
            "SELECT count(*) FROM flash_flood_threshold a JOIN flash_flood_threshold b"
            " USING (village_code, soil_state) WHERE a.duration_h < b.duration_h"
            " AND a.immediate_mm >= b.immediate_mm",
        )
        == 0
    )


def test_resources_and_hazards(db_url: str, mayang: DemoCounty) -> None:
    specialties = {
        r[0]
        for r in psycopg.connect(db_url).execute(
            "SELECT specialty FROM rescue_team WHERE level = 'county' AND admin_code = '431226'"
        )
    }
    assert {
        "road_traffic",
        "flood_control",
        "hazardous_chemicals",
        "forest_fire",
        "outdoor_rescue",
    } <= specialties
    assert scalar(db_url, "SELECT count(*) FROM warehouse WHERE level = 'county'") >= 1
    assert scalar(db_url, "SELECT count(DISTINCT kind) FROM hazardous_site") >= 4
    dam_below = scalar(
        db_url,
        "SELECT details->>'village_below' FROM hazardous_site WHERE kind = 'tailings_dam'",
    )
    assert dam_below and dam_below.startswith("431226")
    # hazard points sit on steep ground and every one has a monitor on duty
    assert (
        scalar(
            db_url,
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY slope_deg) FROM hazard_point",
        )
        > 20
    )
    assert (
        scalar(
            db_url,
            "SELECT count(*) FROM hazard_point h WHERE NOT EXISTS (SELECT 1 FROM"
            " duty d WHERE d.hazard_point_id = h.id AND d.role = 'hazard_monitor')",
        )
        == 0
    )


def test_reload_replaces_instead_of_duplicating(db_url: str, mayang: DemoCounty) -> None:
    before = scalar(db_url, "SELECT count(*) FROM person")
    with psycopg.connect(db_url) as conn:
        rows = load(conn, mayang)
    assert scalar(db_url, "SELECT count(*) FROM person") == before
    assert scalar(db_url, "SELECT count(*) FROM village WHERE county_code = '431226'") == 222
    # the map-tile outlines are built with the load, not by the first map view after it; an
    # unchanged reload changes no unit (geo/demo/merge.py), so none is rebuilt
    assert rows["map tile outlines (units)"] == 0
    assert scalar(db_url, "SELECT count(*) FROM tile_refresh_queue") == 0
    assert scalar(db_url, "SELECT count(*) FROM tile_cut WHERE gb2260 = '431226'") > 1000


def test_a_failed_load_leaves_the_previous_demo(db_url: str, mayang: DemoCounty) -> None:
    broken = DemoCounty(mayang.county, mayang.dataset, mayang.outlines, dict(mayang.tables))
    people = broken.tables["person"].copy()
    people.loc[people.index[-1], "phone"] = "not-a-phone"
    broken.tables["person"] = people
    with psycopg.connect(db_url) as conn, pytest.raises(psycopg.errors.CheckViolation):
        load(conn, broken)
    assert scalar(db_url, "SELECT count(*) FROM village WHERE county_code = '431226'") == 222


def test_same_seed_same_county(tmp_path: Path, mayang: DemoCounty) -> None:
    again = make("431226", tmp_path)
    assert again.counts() == mayang.counts()
    for name, frame in mayang.tables.items():
        other = again.tables[name]
        if name == "raster_layer":
            assert other.sha256.iloc[0] == frame.sha256.iloc[0]  # the DEM file is byte-identical
            continue
        pd.testing.assert_frame_equal(
            pd.DataFrame(frame).astype(str), pd.DataFrame(other).astype(str), obj=name
        )
    different = make("431226", tmp_path / "other", seed=8)
    assert not different.tables["admin_unit"].geom.equals(mayang.tables["admin_unit"].geom)


def test_any_bundled_county_and_size(db_url: str, tmp_path: Path, mayang: DemoCounty) -> None:
    hengyang = make("430421", tmp_path, villages=120)
    assert hengyang.county.name == "衡阳县"
    with psycopg.connect(db_url) as conn:
        load(conn, hengyang)
    assert scalar(db_url, "SELECT count(*) FROM village WHERE county_code = '430421'") == 120
    # both demos live side by side
    assert scalar(db_url, "SELECT count(*) FROM village WHERE county_code = '431226'") == 222


def test_a_city_is_not_a_county(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a county"):
        make("431200", tmp_path)
