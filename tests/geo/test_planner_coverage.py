"""Resource coverage and location planning for planners, checked by brute force: geodesic
distances from pyproj to every resource, township sums by shapely point-in-polygon, needs by a
hand table and InaSAFE's published report figures, sitings by enumerating every combination."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import pytest
from pyproj import Geod

from riskmap.geo import planner
from riskmap.geo.planner import coverage
from riskmap.geo.planner.locate import locate

COUNTY = "431226"
GEOD = Geod(ellps="WGS84")


@pytest.fixture(scope="module")
def url(planner_url: str) -> str:
    return planner_url


@pytest.fixture
def conn(url: str) -> Iterator[psycopg.Connection]:
    with planner.connect(url) as connection:
        yield connection


def _geodesic(a: gpd.GeoSeries, b: gpd.GeoSeries) -> np.ndarray:
    """Brute force: every pair, one pyproj call each way round."""
    out = np.empty((len(a), len(b)))
    for i, p in enumerate(a):
        for j, q in enumerate(b):
            out[i, j] = GEOD.inv(p.x, p.y, q.x, q.y)[2]
    return out


def test_nearest_shelter_is_the_brute_force_minimum(conn) -> None:
    got = coverage.nearest(conn, "shelter", county=COUNTY)
    shelters = planner.resources(conn, "shelter")
    villages = conn.execute(
        "SELECT code, ST_X(label_point), ST_Y(label_point) FROM admin_unit "
        "WHERE level = 'village' AND gb2260 = %s ORDER BY code", [COUNTY]
    ).fetchall()  # fmt: skip
    assert list(got["code"]) == [v[0] for v in villages]
    points = gpd.GeoSeries(gpd.points_from_xy([v[1] for v in villages], [v[2] for v in villages]))
    d = _geodesic(points, shelters.geometry)
    np.testing.assert_allclose(got["distance_m"], d.min(axis=1), rtol=1e-6, atol=0.01)
    # ties aside, the shelter named is the one at that distance
    picked = shelters.set_index("id").geometry.loc[got["resource_id"]]
    again = [GEOD.inv(p.x, p.y, q.x, q.y)[2] for p, q in zip(points, picked, strict=True)]
    np.testing.assert_allclose(again, d.min(axis=1), rtol=1e-6, atol=0.01)
    assert set(got["route"]) == {"straight_line"}


def test_nearest_team_of_a_specialty(conn) -> None:
    got = coverage.nearest(conn, "team", specialty="flood_control", county=COUNTY)
    teams = planner.resources(conn, "team")
    flood = teams[teams["specialty"] == "flood_control"]
    assert len(flood) >= 1
    assert set(got["resource_id"]) <= set(flood["id"])
    d = _geodesic(got.geometry, flood.geometry).min(axis=1)
    np.testing.assert_allclose(got["distance_m"], d, rtol=1e-6, atol=0.01)
    none = coverage.nearest(conn, "team", specialty="mine_rescue", county=COUNTY)
    if not (teams["specialty"] == "mine_rescue").any():  # the demo county has no mines
        assert none["distance_m"].isna().all() and none["resource_id"].isna().all()
    with pytest.raises(ValueError, match="kind must be one of"):
        coverage.nearest(conn, "expert")


def test_shelter_balance_by_point_in_polygon(conn) -> None:
    got = coverage.shelter_balance(conn, "flash_flood", min_risk=3, county=COUNTY)
    towns = planner.townships(conn, county=COUNTY)
    assert sorted(got["township_code"]) == sorted(towns["code"])
    # people: the danger-zone population where the survey has it, else the whole village
    rows = conn.execute(
        "SELECT v.township_code, v.population, v.danger_zone_population "
        "FROM village v JOIN village_risk_layer r ON r.village_code = v.code "
        "WHERE r.hazard = 'flash_flood' AND r.risk_level >= 3 AND v.county_code = %s", [COUNTY]
    ).fetchall()  # fmt: skip
    people: dict[str, int] = {}
    for town, pop, dz in rows:
        people[town] = people.get(town, 0) + (pop if dz is None else min(pop, dz))
    shelters = planner.resources(conn, "shelter")
    free: dict[str, int] = {}
    for s in shelters.itertuples():
        inside = towns[towns.geometry.covers(s.geometry)]
        if len(inside):
            code = sorted(inside["code"])[0]
            free[code] = free.get(code, 0) + int(s.capacity - s.occupancy)
    by = got.set_index("township_code")
    for code in towns["code"]:
        assert by.loc[code, "people_to_move"] == people.get(code, 0), code
        assert by.loc[code, "free"] == free.get(code, 0), code
        assert by.loc[code, "shortfall"] == max(0, people.get(code, 0) - free.get(code, 0))
    assert sum(people.values()) > 0
    assert list(got["shortfall"]) == sorted(got["shortfall"], reverse=True)


def test_geohazard_people_are_the_hazard_points_threatened(conn) -> None:
    got = coverage.people_at_risk(conn, "geohazard", min_risk=1, county=COUNTY)
    rows = dict(conn.execute(
        "SELECT h.village_code, least(sum(h.threatened_people), max(v.population)) "
        "FROM hazard_point h JOIN village v ON v.code = h.village_code "
        "WHERE v.county_code = %s GROUP BY h.village_code", [COUNTY]
    ).fetchall())  # fmt: skip
    by = got.set_index("code")["people_to_move"]
    for code, n in rows.items():
        assert by[code] == n
    assert (by.drop(index=list(rows)) == 0).all()
    with pytest.raises(ValueError, match="min_risk"):
        coverage.people_at_risk(conn, "geohazard", min_risk=5)


def test_minimum_needs_hand_table_and_inasafe_report() -> None:
    week = coverage.minimum_needs(1000, days=7).set_index("name")["need"]
    # per_person × 1000 people × 7 days (per day) or × 1000 (once), rounded up, by hand
    assert week.to_dict() == {
        "饮用水": 1330, "方便食品": 875, "棉被": 1000, "折叠床": 1000, "帐篷": 250,
        "急救包": 200, "大米": 2800, "生活用水": 67200, "厕位": 50,
    }  # fmt: skip
    # InaSAFE's Jakarta 2007 flood report: 979,000 displaced need 2,741,200 kg rice, 195,800
    # family kits and 48,950 toilets a week (BNPB regulation 7/2008)
    jakarta = coverage.minimum_needs(979_000, days=7).set_index("name")["need"]
    assert jakarta["大米"] == 2_741_200
    assert jakarta["急救包"] == 195_800
    assert jakarta["厕位"] == 48_950
    three = coverage.minimum_needs(7, days=3).set_index("name")["need"]
    assert three["饮用水"] == 4  # 0.19 × 7 × 3 = 3.99 → 4
    with pytest.raises(ValueError, match="people"):
        coverage.minimum_needs(-1)


def test_bad_needs_table_names_file_and_field(tmp_path) -> None:
    bad = tmp_path / "needs.yaml"
    bad.write_text("needs:\n  - item: tent\n    name: 帐篷\n    unit: 顶\n    per_person: -1\n"
                   "    per: day\n    basis: x\n", encoding="utf-8")  # fmt: skip
    with pytest.raises(ValueError, match=r"needs\.yaml: needs\.0\.per_person"):
        coverage.minimum_needs(10, needs=bad)


def test_stock_gap_against_sql_totals(conn) -> None:
    got = coverage.stock_gap(conn, 20_000, days=3, county=COUNTY).set_index("name")
    for name, item in (("帐篷", "tent"), ("饮用水", "drinking_water"), ("折叠床", "folding_bed")):
        total = conn.execute(
            "SELECT coalesce(sum(s.quantity), 0) FROM stock s JOIN warehouse w ON w.id = "
            "s.warehouse_id WHERE s.item = %s AND w.admin_code LIKE %s", [item, COUNTY + "%"]
        ).fetchone()[0]  # fmt: skip
        assert got.loc[name, "stock"] == pytest.approx(float(total))
        need = got.loc[name, "need"]
        assert got.loc[name, "shortfall"] == pytest.approx(max(0.0, need - float(total)))
    assert np.isnan(got.loc["大米", "stock"])  # rice is not in the stock register


# -- location-allocation ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def small(url: str):
    """40 villages, 5 existing shelters, 10 candidate villages: small enough to enumerate."""
    with planner.connect(url) as c:
        points = coverage.village_points(c, county=COUNTY).set_index("code")
        shelters = planner.resources(c, "shelter").set_index("id")
    rng = np.random.default_rng(7)
    demand = points.iloc[rng.choice(len(points), 40, replace=False)].copy()
    demand["people"] = rng.integers(0, 900, len(demand))
    candidates = points.drop(index=demand.index).iloc[rng.choice(len(points) - 40, 10, False)]
    existing = shelters.iloc[rng.choice(len(shelters), 5, replace=False)]
    return demand, candidates, existing


def _euclid(a: gpd.GeoSeries, b: gpd.GeoSeries) -> np.ndarray:
    return np.array([[p.distance(q) for q in b] for p in a])


def _enumerate(demand, candidates, existing, add, radius, metric=_geodesic):
    d_old = metric(demand.geometry, existing.geometry).min(axis=1)
    d_new = metric(demand.geometry, candidates.geometry)
    w = demand["people"].to_numpy(float)
    best_cover, best_mean = -1.0, np.inf
    for combo in itertools.combinations(range(len(candidates)), add):
        dist = np.minimum(d_old, d_new[:, combo].min(axis=1))
        best_cover = max(best_cover, float(w[dist <= radius].sum()))
        best_mean = min(best_mean, float(np.average(dist, weights=w)))
    before = float(w[d_old <= radius].sum())
    return best_cover, best_mean, before


@pytest.mark.parametrize("add", [1, 3])
def test_locate_matches_enumeration(small, add) -> None:
    demand, candidates, existing = small
    radius = 2500.0
    cover, mean, before = _enumerate(demand, candidates, existing, add, radius)
    mc = locate(demand, candidates, add=add, existing=existing, radius_m=radius)
    assert mc.after["covered"] == pytest.approx(cover)
    assert mc.before["covered"] == pytest.approx(before)
    assert mc.gain["covered"] == pytest.approx(cover - before)
    assert len(mc.chosen) == add and set(mc.chosen.index) <= set(candidates.index)
    pm = locate(demand, candidates, add=add, existing=existing, objective="p_median")
    assert pm.after["mean_distance_m"] == pytest.approx(mean, rel=1e-6)
    assert pm.after["mean_distance_m"] <= mc.after["mean_distance_m"] + 1e-6
    # every demand row is assigned to its nearest open site
    assert (pm.assignment["after_m"] <= pm.assignment["before_m"] + 1e-6).all()
    assert pm.chosen["serves"].sum() == pytest.approx(
        pm.assignment.loc[pm.assignment["site"] == "new", "weight"].sum()
    )


def test_locate_in_a_projected_crs_and_bad_input(small) -> None:
    demand, candidates, existing = small
    proj = "EPSG:4546"  # CGCS2000 / 3-degree Gauss–Krüger CM 111E, metres
    planar = [g.to_crs(proj) for g in (demand, candidates, existing)]
    a = locate(planar[0], planar[1], add=2, existing=planar[2], radius_m=2500.0)
    cover, _, _ = _enumerate(*planar, 2, 2500.0, metric=_euclid)
    assert a.after["covered"] == pytest.approx(cover)
    with pytest.raises(ValueError, match="CRS mismatch: demand is EPSG:4326, candidates is"):
        locate(demand, candidates.to_crs(proj), add=1, radius_m=1000.0)
    with pytest.raises(ValueError, match="needs radius_m"):
        locate(demand, candidates, add=1)
    with pytest.raises(ValueError, match="add must be"):
        locate(demand, candidates, add=11, radius_m=1000.0)
    with pytest.raises(ValueError, match="objective must be one of"):
        locate(demand, candidates, add=1, objective="centre", radius_m=1000.0)
    bad = demand.copy()
    bad.iloc[3, bad.columns.get_loc("people")] = -5
    with pytest.raises(ValueError, match=rf"demand row '{bad.index[3]}': people must be"):
        locate(bad, candidates, add=1, radius_m=1000.0)
    with pytest.raises(ValueError, match="no column 'nope'"):
        locate(demand, candidates, add=1, radius_m=1000.0, weight="nope")
    lonlat = pd.DataFrame({"people": [1]})
    with pytest.raises(ValueError, match="has no CRS"):
        locate(gpd.GeoDataFrame(lonlat, geometry=gpd.points_from_xy([109.7], [27.9])),
               candidates, add=1, radius_m=1000.0)  # fmt: skip
