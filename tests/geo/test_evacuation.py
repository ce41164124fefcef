"""Evacuation planning and rescue teams on a hand-made county whose answers are known.

Two square villages 0.1° apart at 30° N, four shelters and five teams at chosen places; the
distances come from pyproj (Karney's geodesics), the allocation and the team lists are worked
out by hand below, independently of the code under test.
"""

from __future__ import annotations

import psycopg
import pytest
import shapely
from pyproj import Geod

from riskmap.geo.db.migrate import migrate
from riskmap.geo.evacuation import Move, allocate, people_to_move
from riskmap.geo.impact import impact_summary
from riskmap.geo.rescue import teams_needed

GEOD = Geod(ellps="WGS84")
A, B = "431226101201", "431226101202"
CENTRE = {A: (110.00, 30.00), B: (110.10, 30.00)}
# id: (lon, lat, capacity, occupancy)
SHELTERS = {
    "SH-1": (110.005, 30.005, 100, 0),  # inside village A: "0 km from the area", 0.7 km in truth
    "SH-2": (110.045, 30.000, 350, 50),  # between the two, nearer A
    "SH-3": (110.100, 30.060, 200, 0),  # north of B
    "SH-4": (110.600, 30.000, 5000, 0),  # 48 km east: beyond the 30 km reach
}
# id: (specialty, lon, lat)
TEAMS = {
    "T-1": ("flood_control", 110.02, 30.00),
    "T-2": ("comprehensive", 110.10, 30.02),
    "T-3": ("comprehensive", 110.30, 30.00),
    "T-4": ("flood_control", 110.90, 30.00),  # 77 km: out of reach
    "T-5": ("forest_fire", 110.05, 30.01),
}


def km(a: tuple[float, float], b: tuple[float, float]) -> float:
    return GEOD.inv(a[0], a[1], b[0], b[1])[2] / 1000.0


@pytest.fixture
def county(fresh_db: str):
    migrate(fresh_db)
    with psycopg.connect(fresh_db) as conn:
        conn.execute(
            "INSERT INTO dataset (id, title, synthetic, source) VALUES ('t', 'test', true, 'test')"
        )
        box = shapely.box(109.9, 29.9, 110.2, 30.1)
        units = [
            ("430000", "province", None, "湖南省", None, None, box),
            ("431200", "city", "430000", "怀化市", None, None, box),
            ("431226", "county", "431200", "麻阳县", None, None, box),
            ("431226101", "township", "431226", "甲镇", None, None, box),
            (
                A,
                "village",
                "431226101",
                "甲村",
                1000,
                250,
                shapely.box(109.99, 29.99, 110.01, 30.01),
            ),
            (
                B,
                "village",
                "431226101",
                "乙村",
                2000,
                400,
                shapely.box(110.09, 29.99, 110.11, 30.01),
            ),
        ]
        for code, level, parent, name, pop, dz, geom in units:
            conn.execute(
                """INSERT INTO admin_unit (code, level, parent_code, name, gb2260, stat_code,
                       population, households, danger_zone_population, dataset_id, geom)
                   VALUES (%s, %s, %s, %s, %s, rpad(%s, 12, '0'), %s, %s, %s, 't',
                           ST_Multi(ST_GeomFromText(%s, 4326)))""",
                (code, level, parent, name, code[:6].ljust(6, "0"), code, pop,
                 pop and pop // 3, dz, geom.wkt),
            )  # fmt: skip
        for sid, (x, y, cap, occ) in SHELTERS.items():
            conn.execute(
                """INSERT INTO shelter (id, name, kind, admin_code, capacity, occupancy,
                       dataset_id, geom)
                   VALUES (%s, %s, 'school', '431226101', %s, %s, 't',
                           ST_SetSRID(ST_MakePoint(%s, %s), 4326))""",
                (sid, f"{sid}避难场所", cap, occ, x, y),
            )
        for tid, (sp, x, y) in TEAMS.items():
            conn.execute(
                """INSERT INTO rescue_team (id, name, specialty, level, admin_code, dataset_id,
                                           geom)
                   VALUES (%s, %s, %s, 'county', '431226', 't',
                           ST_SetSRID(ST_MakePoint(%s, %s), 4326))""",
                (tid, f"{tid}队", sp, x, y),
            )
        conn.commit()
        yield conn


def test_allocate_by_hand() -> None:
    pairs = [("a", "x", 1.0), ("b", "x", 2.0), ("a", "y", 3.0), ("b", "y", 0.5)]
    # b-y (0.5) first: 50; a-x (1.0): 80; b-x: b is done; a-y (3.0): the 20 a still needs
    assert allocate({"a": 100, "b": 50}, {"x": 80, "y": 100}, pairs) == [
        Move("b", "y", 50, 0.5),
        Move("a", "x", 80, 1.0),
        Move("a", "y", 20, 3.0),
    ]
    # not enough room: the gap stays with the village whose pairs come last
    moves = allocate({"a": 100, "b": 50}, {"x": 30, "y": 40}, pairs)
    assert [(m.village_code, m.shelter_id, m.people) for m in moves] == [
        ("b", "y", 40),
        ("a", "x", 30),
    ]


def test_people_to_move_sources() -> None:
    v = {"population": 900, "danger_zone_population": 120}
    assert people_to_move(v, "danger_zone") == (120, "danger_zone")
    assert people_to_move({**v, "danger_zone_population": None}, "danger_zone") == (
        900,
        "population",
    )
    assert people_to_move(v, "hazard_points", 45) == (45, "hazard_points")
    assert people_to_move(v, "population") == (900, "population")
    assert teams_needed(0) == 1 and teams_needed(1001, 1000) == 2


def test_evacuation_plan_of_the_hand_made_county(county) -> None:
    s = impact_summary(county, [A, B], hazard="flash_flood")
    assert s["totals"]["population"] == 3000
    assert s["totals"]["people"] == 650  # 250 + 400 in the danger zones
    d = {(v, i): km(CENTRE[v], SHELTERS[i][:2]) for v in (A, B) for i in SHELTERS}
    # by hand, shortest pairs first: A–SH-1 0.72 km (100), A–SH-2 4.35 km (the 150 A still
    # needs), B–SH-2 5.31 km (the 150 places left), B–SH-3 6.65 km (200, all it has); A–SH-3
    # 11.7 km: A is done; SH-4 is beyond 30 km: 50 of B's people have no place.
    assert d[(A, "SH-1")] < d[(A, "SH-2")] < d[(B, "SH-2")] < d[(B, "SH-3")] < 30 < d[(B, "SH-4")]
    expected = [(A, "SH-1", 100), (A, "SH-2", 150), (B, "SH-2", 150), (B, "SH-3", 200)]
    ev = s["evacuation"]
    assert [(m["village_code"], m["shelter_id"], m["people"]) for m in ev["allocation"]] == expected
    for m in ev["allocation"]:
        assert m["distance_km"] == pytest.approx(d[(m["village_code"], m["shelter_id"])], abs=1e-3)
    assert ev["allocation"][0]["distance_km"] > 0.5  # not the 0.0 of "inside the area"
    assert (ev["placed"], ev["gap"]) == (600, 50)
    assert ev["unplaced"] == [{"village_code": B, "village_name": "乙村", "people": 50}]
    assert ev["free_within_reach"] == 100 + 300 + 200
    assert [(x["id"], x["takes"], x["free_after"]) for x in s["shelters"]] == [
        ("SH-1", 100, 0),
        ("SH-2", 300, 0),
        ("SH-3", 200, 0),
    ]
    # a longer reach brings SH-4 in and closes the gap
    far = impact_summary(county, [A, B], hazard="flash_flood", shelter_reach_km=60)
    assert far["evacuation"]["gap"] == 0
    assert far["evacuation"]["allocation"][-1]["shelter_id"] == "SH-4"
    assert far["evacuation"]["allocation"][-1]["people"] == 50


def test_rescue_teams_of_the_hand_made_county(county) -> None:
    def nearest(tid: str) -> float:
        return min(km(CENTRE[v], TEAMS[tid][1:]) for v in (A, B))

    # 650 people, 300 per team: three teams. T-1 is the flood team within reach; T-4 is out of
    # reach; the comprehensive teams T-2 (2.2 km from B) and T-3 (19 km) make up the number.
    r = impact_summary(county, [A, B], hazard="flash_flood", people_per_team=300)["rescue_teams"]
    assert r["needed"] == 3
    assert [t["id"] for t in r["teams"]] == ["T-1", "T-2", "T-3"]
    assert [t["role"] for t in r["teams"]] == ["specialised", "support", "support"]
    for t in r["teams"]:
        assert t["distance_km"] == pytest.approx(nearest(t["id"]), abs=1e-3)
    assert r["short"] == 0
    # one team per 100 people: seven needed, three within reach
    r = impact_summary(county, [A, B], hazard="flash_flood", people_per_team=100)["rescue_teams"]
    assert (r["needed"], len(r["teams"]), r["short"]) == (7, 3, 4)
    # a forest fire takes the forest-fire team first, then the comprehensive ones
    r = impact_summary(county, [A, B], hazard="forest_fire")["rescue_teams"]
    assert r["needed"] == 3  # the whole villages (3,000 people), one team per 1,000
    assert [t["id"] for t in r["teams"]] == ["T-5", "T-2", "T-3"]
    # no flood team within a 1 km reach: the nearest one anywhere is listed, flagged
    r = impact_summary(county, [A, B], hazard="flash_flood", team_reach_km=1.0)["rescue_teams"]
    assert [(t["id"], t["within_reach"]) for t in r["teams"]] == [("T-1", False)]
    assert r["short"] == r["needed"]
