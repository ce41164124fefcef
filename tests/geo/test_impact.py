"""Impact summary on the Mayang demo (read-only), every figure cross-checked independently:
sums from the village rows, points with shapely, nearest resources by brute force."""

from __future__ import annotations

import re

import pytest
import shapely

from riskmap.geo.impact import HAZARD_STOCK, HAZARD_TEAMS, impact_summary

PHONE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-\d{7,8})$")


def _codes_with_points(conn, n: int = 3) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            """SELECT code FROM village v
               WHERE EXISTS (SELECT 1 FROM hazard_point h WHERE h.village_code = v.code)
               ORDER BY code LIMIT %s""",
            (n,),
        )
    ]


def _area(conn, codes):
    geoms = [
        shapely.from_wkb(bytes(r[0]))
        for r in conn.execute(
            "SELECT ST_AsBinary(geom) FROM village WHERE code = ANY(%s)", (codes,)
        )
    ]
    return shapely.union_all(geoms)


def _brute_distances(conn, table: str, codes: list[str], where: str = "true") -> list[tuple]:
    """Every row's geodesic distance to the villages' union, no index, no KNN."""
    return conn.execute(
        f"""WITH a AS (SELECT ST_Union(geom)::geography AS g FROM village WHERE code = ANY(%s))
            SELECT t.id, ST_Distance(t.geom::geography, a.g) / 1000.0 AS d
            FROM {table} t, a WHERE {where} ORDER BY d, t.id""",
        (codes,),
    ).fetchall()


def test_totals_facilities_and_hazard_points_add_up(mayang, conn) -> None:
    codes = _codes_with_points(conn)
    s = impact_summary(conn, codes, hazard="flash_flood")
    assert [v["code"] for v in s["villages"]] == sorted(codes)
    assert all(v["name"] for v in s["villages"])
    pop, hh, sch, cli = conn.execute(
        "SELECT sum(population), sum(households), sum(schools), sum(clinics) FROM village "
        "WHERE code = ANY(%s)",
        (codes,),
    ).fetchone()
    t = s["totals"]
    assert (t["villages"], t["people"], t["households"]) == (3, pop, hh)
    assert (t["schools"], t["clinics"]) == (sch, cli)
    n_fac = conn.execute(
        "SELECT count(*) FROM facility WHERE village_code = ANY(%s)", (codes,)
    ).fetchone()[0]
    assert len(s["facilities"]["points"]) == n_fac == sum(s["facilities"]["by_kind"].values())

    area = _area(conn, codes)
    inside = [
        (r[0], r[1])
        for r in conn.execute("SELECT id, threatened_people, ST_AsBinary(geom) FROM hazard_point")
        if area.covers(shapely.from_wkb(bytes(r[2])))
    ]
    hp = s["hazard_points"]
    assert hp["count"] == len(inside) > 0
    assert {p["id"] for p in hp["points"]} == {i for i, _ in inside}
    assert hp["threatened_people"] == sum(p for _, p in inside)
    assert all(PHONE.match(p["monitor_phone"]) for p in hp["points"])


def test_nearest_shelters_warehouses_and_teams_are_really_nearest(mayang, conn) -> None:
    codes = _codes_with_points(conn)
    k = 3
    s = impact_summary(conn, codes, hazard="flash_flood", k=k)

    brute = _brute_distances(conn, "shelter", codes, "t.capacity > t.occupancy")
    assert [x["id"] for x in s["shelters"]] == [b[0] for b in brute[:k]]
    for got, (_, d) in zip(s["shelters"], brute, strict=False):
        assert got["distance_km"] == pytest.approx(d, abs=1e-3)
    for sh in s["shelters"]:
        cap, occ = conn.execute(
            "SELECT capacity, occupancy FROM shelter WHERE id = %s", (sh["id"],)
        ).fetchone()
        assert sh["free"] == cap - occ > 0
    c = s["capacity"]
    assert c["free_capacity_k"] == sum(x["free"] for x in s["shelters"])
    assert c["capacity_gap_k"] == max(0, s["totals"]["people"] - c["free_capacity_k"])
    free_r = sum(
        conn.execute("SELECT capacity - occupancy FROM shelter WHERE id = %s", (i,)).fetchone()[0]
        for i, d in brute
        if d <= c["radius_km"]
    )
    assert c["free_capacity_radius"] == free_r
    assert c["capacity_gap_radius"] == max(0, c["people"] - free_r)

    items = list(HAZARD_STOCK["flash_flood"])
    brute_w = _brute_distances(
        conn,
        "warehouse",
        codes,
        "EXISTS (SELECT 1 FROM stock s WHERE s.warehouse_id = t.id AND s.quantity > 0 "
        f"AND s.item IN ({', '.join(repr(i) for i in items)}))",
    )
    near = s["warehouses"]["nearest"]
    assert [w["id"] for w in near] == [b[0] for b in brute_w[:k]]
    for w in near:
        assert w["stock"] and {x["item"] for x in w["stock"]} <= set(items)
        for x in w["stock"]:
            q = conn.execute(
                "SELECT quantity FROM stock WHERE warehouse_id = %s AND item = %s",
                (w["id"], x["item"]),
            ).fetchone()[0]
            assert x["quantity"] == q

    teams = s["rescue_teams"]
    assert teams and all(t["specialty"] in HAZARD_TEAMS["flash_flood"] for t in teams)
    brute_t = _brute_distances(conn, "rescue_team", codes, "t.specialty = 'flood_control'")
    assert [t["id"] for t in teams] == [b[0] for b in brute_t[:k]]
    geo_teams = impact_summary(conn, codes, hazard="geohazard")["rescue_teams"]
    assert {t["specialty"] for t in geo_teams} <= {"outdoor_rescue", "comprehensive"}
    fire_items = impact_summary(conn, codes, hazard="forest_fire")["warehouses"]["nearest"]
    assert all(x["item"] in HAZARD_STOCK["forest_fire"] for w in fire_items for x in w["stock"])


def test_contacts_and_the_hazardous_site_cascade(mayang, conn) -> None:
    site_id, village = conn.execute(
        """SELECT s.id, v.code FROM hazardous_site s JOIN village v ON ST_Covers(v.geom, s.geom)
           ORDER BY s.id LIMIT 1"""
    ).fetchone()
    s = impact_summary(conn, [village], hazard="rainstorm")
    sites = {x["id"]: x for x in s["hazardous_sites"]}
    assert site_id in sites and sites[site_id]["distance_km"] == 0.0
    assert all(x["distance_km"] <= 1.0 for x in s["hazardous_sites"])
    assert s["site_teams"] and all(t["specialty"] == "hazardous_chemicals" for t in s["site_teams"])

    roles = {(c["role"], c["concerns"]) for c in s["contacts"]}
    assert ("village_cadre", village) in roles
    assert ("site_safety", site_id) in roles
    for p in s["hazard_points"]["points"]:
        assert ("hazard_monitor", p["id"]) in roles
    assert all(PHONE.match(c["phone"]) for c in s["contacts"])
    n_duties = conn.execute(
        """SELECT count(*) FROM duty WHERE admin_code = %s
           AND role IN ('village_cadre', 'disaster_info_officer', 'grid_officer')""",
        (village,),
    ).fetchone()[0]
    assert sum(1 for c in s["contacts"] if c["concerns_kind"] == "village") == n_duties


def test_polygon_only_and_bad_arguments(mayang, conn) -> None:
    lon, lat, code = conn.execute(
        "SELECT ST_X(label_point), ST_Y(label_point), code FROM village ORDER BY code LIMIT 1"
    ).fetchone()
    poly = shapely.Point(lon, lat).buffer(0.002)
    s = impact_summary(conn, [], hazard="geohazard", geom_wkb=shapely.to_wkb(poly))
    assert code in [v["code"] for v in s["villages"]]
    with pytest.raises(ValueError, match="flash_flood, river_flood"):
        impact_summary(conn, [code], hazard="tsunami")
    with pytest.raises(ValueError, match="unknown village codes: 999999999999"):
        impact_summary(conn, [code, "999999999999"], hazard="geohazard")
    with pytest.raises(ValueError, match="village codes or a polygon"):
        impact_summary(conn, [], hazard="geohazard")


def test_a_stored_warnings_impact_uses_its_villages_and_area(mayang, conn) -> None:
    from datetime import UTC, datetime

    from riskmap.geo.impact import warning_impact
    from riskmap.geo.warnings import lifecycle
    from riskmap.geo.warnings.proposal import Proposal

    codes = [
        r[0]
        for r in conn.execute(
            "SELECT code FROM village WHERE county_code = '431226' ORDER BY code LIMIT 4"
        )
    ]
    at = datetime(2026, 7, 14, 3, tzinfo=UTC)
    p = Proposal(
        rule_id="impact-test",
        rule_version="1",
        hazard="reservoir",
        colour="orange",
        at=at,
        village_codes=tuple(codes),
        evidence={c: {"rz_over_limit_m": 0.4} for c in codes},
        event_zh="水库超汛限",
        event_en="Reservoir over flood limit",
        headline_zh="水库超汛限",
        headline_en="Reservoir over its flood limit",
        description_zh="水位超汛限0.4米。",
        description_en="0.4 m over the limit.",
        instruction_zh="下游做好转移准备。",
        instruction_en="Downstream villages prepare to move.",
    )
    [change] = lifecycle.apply_proposals(conn, [p], at)
    report = warning_impact(conn, change.warning_id)
    assert report["hazard"] == "river_flood"  # reservoirs take the flood stock and teams
    assert {v["code"] for v in report["villages"]} == set(codes)
    people = conn.execute(
        "SELECT sum(population) FROM village WHERE code = ANY(%s)", (codes,)
    ).fetchone()[0]
    assert report["totals"]["people"] == people
    assert {t["specialty"] for t in report["rescue_teams"]} == {"flood_control"}
    with pytest.raises(LookupError):
        warning_impact(conn, 10**9)
