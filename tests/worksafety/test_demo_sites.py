"""The demo county's work-safety sites end up configured: the dam with points for every GB 51108
item, the chemical plant's tanks and detectors, the fireworks warehouse's sensors — written as
YAML files a bureau could edit and reload, and loaded with the demo."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from riskmap.geo.demo.worksafety import phreatic_min_depth
from riskmap.geo.worksafety.load import read_site_files

DAM_ITEMS = {
    "surface_displacement",
    "internal_displacement",
    "phreatic_depth",
    "dry_beach_length",
    "freeboard",
    "pond_level",
    "rainfall",
    "reservoir_landslide",
}


def _site(conn: psycopg.Connection, kind: str) -> str:
    return conn.execute("SELECT id FROM hazardous_site WHERE kind = %s", (kind,)).fetchone()[0]


def _items(conn: psycopg.Connection, site: str) -> dict[str, int]:
    rows = conn.execute(
        "SELECT item, count(*) FROM ws_point WHERE site_id = %s GROUP BY item", (site,)
    ).fetchall()
    return dict(rows)


def test_dam_has_points_for_every_item(mayang, conn: psycopg.Connection) -> None:
    dam = _site(conn, "tailings_dam")
    items = _items(conn, dam)
    assert set(items) == DAM_ITEMS
    assert items["phreatic_depth"] == 3
    section, contact = conn.execute(
        "SELECT supervising_section, p.title FROM ws_site JOIN person p"
        " ON p.id = maintenance_contact WHERE site_id = %s",
        (dam,),
    ).fetchone()
    assert (section, contact) == ("矿山股", "设备运维")
    # phreatic line: red = GB 50863 minimum burial depth for a 32 m dam, orange = 1.1 × red
    red, orange = conn.execute(
        "SELECT max(value) FILTER (WHERE level = 'red'), max(value) FILTER (WHERE level = 'orange')"
        " FROM ws_threshold t JOIN ws_point p ON p.id = t.point_id"
        " WHERE p.site_id = %s AND p.item = 'phreatic_depth'",
        (dam,),
    ).fetchone()
    assert red == pytest.approx(3.07)  # 30 m → 3 m, 60 m → 4 m: 32 m → 3.067, to the cm
    assert orange == pytest.approx(1.1 * red, abs=0.01)
    landslide = dict(
        conn.execute(
            "SELECT level, value FROM ws_threshold WHERE point_id = %s", (f"{dam}-HP1",)
        ).fetchall()
    )
    assert landslide["orange"] == pytest.approx(0.8 * landslide["red"])  # GB 51108 §8.3.8


def test_chemical_plant_and_fireworks_warehouse(mayang, conn: psycopg.Connection) -> None:
    chem = _items(conn, _site(conn, "chemical_plant"))
    assert chem == {
        "tank_level": 2,
        "temperature": 2,
        "pressure": 1,
        "combustible_gas": 2,
        "toxic_gas": 2,
    }
    gas = conn.execute(
        "SELECT level, value FROM ws_threshold t JOIN ws_point p ON p.id = t.point_id"
        " WHERE p.item = 'combustible_gas' AND p.site_id = %s",
        (_site(conn, "chemical_plant"),),
    ).fetchall()
    assert set(gas) == {("high", 25.0), ("high_high", 50.0)}  # GB/T 50493-2019 §5.5.2 caps
    fw = _site(conn, "fireworks_warehouse")
    assert _items(conn, fw) == {"temperature": 2, "humidity": 2, "stored_quantity": 1}
    red = conn.execute(
        "SELECT value FROM ws_threshold WHERE point_id = %s AND level = 'red'", (f"{fw}-KC1",)
    ).fetchone()
    assert red == (12.5,)  # the licensed quantity
    codes = conn.execute(
        "SELECT count(*) FROM ws_point WHERE mn IS NOT NULL AND site_id LIKE 'HS431226-%'"
    ).fetchone()[0]
    assert codes >= 10  # HJ 212 devices on dam, detectors and warehouse rooms


def test_written_files_validate_and_match_what_was_loaded(mayang, conn) -> None:
    folder = Path(mayang.tables["raster_layer"].iloc[0]["path"]).parent / "sites"
    files = read_site_files([folder])
    assert {f.config.site for f in files} == set(mayang.site_configs)
    for f in files:
        loaded = conn.execute(
            "SELECT array_agg(id ORDER BY id) FROM ws_point WHERE site_id = %s", (f.config.site,)
        ).fetchone()[0]
        assert loaded == sorted(p.id for _i, p, _a in f.config.points())


def test_phreatic_depth_interpolation() -> None:
    assert phreatic_min_depth(30) == 3.0
    assert phreatic_min_depth(45) == 3.5
    assert phreatic_min_depth(60) == 4.0
    assert phreatic_min_depth(10) == 3.0  # below the table: its end ⚠


def test_demo_reload_keeps_point_numbers(mayang, conn: psycopg.Connection) -> None:
    """Reloading the demo (inside this test's rolled-back transaction) upserts the points:
    readings keyed by n still find their point."""
    from riskmap.geo.demo.load import load

    # this county's points (the session database may hold other demo counties' too)
    query = (
        "SELECT p.id, p.n FROM ws_point p JOIN hazardous_site s ON s.id = p.site_id"
        " WHERE s.admin_code LIKE '431226%'"
    )
    before = dict(conn.execute(query).fetchall())
    written = load(conn, mayang)
    after = dict(conn.execute(query).fetchall())
    assert after == before
    assert written["ws_site"] == 3 and written["ws_point"] == len(before)


def test_demo_knows_who_hears_of_alarms_and_who_lives_below_the_dam(
    mayang, conn: psycopg.Connection
) -> None:
    """The load also writes each supervising section's staff (two per section named in the
    configurations) and the villages below the dam, among them the village the generator
    placed the dam above (details.village_below)."""
    sections = conn.execute(
        "SELECT section, count(*) FROM ws_section_member WHERE county_code = '431226'"
        " GROUP BY section ORDER BY section"
    ).fetchall()
    configured = conn.execute(
        "SELECT DISTINCT supervising_section FROM ws_site ORDER BY 1"
    ).fetchall()
    assert [s for s, _ in sections] == [s for (s,) in configured]
    assert all(n == 2 for _, n in sections)
    dam = _site(conn, "tailings_dam")
    (below,) = conn.execute(
        "SELECT details->>'village_below' FROM hazardous_site WHERE id = %s", (dam,)
    ).fetchone()
    villages = [
        code
        for (code,) in conn.execute(
            "SELECT village_code FROM ws_site_downstream WHERE site_id = %s ORDER BY 1", (dam,)
        ).fetchall()
    ]
    assert below in villages
