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
    pop, hh, dz = conn.execute(
        "SELECT sum(population), sum(households), sum(danger_zone_population) FROM village "
        "WHERE code = ANY(%s)",
        (codes,),
    ).fetchone()
    t = s["totals"]
    # people to move: the danger zones' people (危险区人口), not the whole villages
    assert (t["villages"], t["population"], t["households"]) == (3, pop, hh)
    assert t["people"] == t["danger_zone_population"] == dz < pop
    assert [v["people_source"] for v in s["villages"]] == ["danger_zone"] * 3
    # schools and kindergartens apart, the same in the totals, the villages and the list
    kinds = dict(
        conn.execute(
            "SELECT kind, count(*) FROM facility WHERE village_code = ANY(%s) GROUP BY kind",
            (codes,),
        ).fetchall()
    )
    by_kind = s["facilities"]["by_kind"]
    for key, kind in (
        ("schools", "school"),
        ("kindergartens", "kindergarten"),
        ("clinics", "clinic"),
    ):
        assert t[key] == kinds.get(kind, 0) == by_kind.get(kind, 0)
        assert t[key] == sum(v[key] for v in s["villages"])
    n_fac = conn.execute(
        "SELECT count(*) FROM facility WHERE village_code = ANY(%s)", (codes,)
    ).fetchone()[0]
    assert len(s["facilities"]["points"]) == n_fac == sum(by_kind.values())

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
    # a geohazard evacuation moves the people the hazard points threaten
    g = impact_summary(conn, codes, hazard="geohazard")
    assert g["totals"]["people"] == hp["threatened_people"]


def test_warehouses_are_really_nearest(mayang, conn) -> None:
    codes = _codes_with_points(conn)
    k = 3
    s = impact_summary(conn, codes, hazard="flash_flood", k=k)
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
    teams = s["rescue_teams"]["teams"]
    assert teams and all(t["specialty"] in HAZARD_TEAMS["flash_flood"] for t in teams)
    assert teams[0]["specialty"] == "flood_control"
    geo_teams = impact_summary(conn, codes, hazard="geohazard")["rescue_teams"]["teams"]
    assert {t["specialty"] for t in geo_teams} <= {"outdoor_rescue", "comprehensive"}
    fire = impact_summary(conn, codes, hazard="forest_fire")
    assert fire["rescue_teams"]["teams"][0]["specialty"] == "forest_fire"
    assert all(
        x["item"] in HAZARD_STOCK["forest_fire"]
        for w in fire["warehouses"]["nearest"]
        for x in w["stock"]
    )


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
        "SELECT sum(danger_zone_population) FROM village WHERE code = ANY(%s)", (codes,)
    ).fetchone()[0]
    assert report["totals"]["people"] == people
    assert report["warning_hazard"] == "reservoir"
    assert report["rescue_teams"]["teams"][0]["specialty"] == "flood_control"
    with pytest.raises(LookupError):
        warning_impact(conn, 10**9)


def _geod_km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Geodesic distance on WGS 84 by pyproj (Karney), independent of PostGIS."""
    from pyproj import Geod

    return Geod(ellps="WGS84").inv(lon1, lat1, lon2, lat2)[2] / 1000.0


def _storm_like_codes(conn, n: int = 12) -> list[str]:
    """A dozen villages on streams, side by side in one township (a flash-flood warning)."""
    return [
        r[0]
        for r in conn.execute(
            """SELECT v.code FROM village v
               WHERE EXISTS (SELECT 1 FROM flash_flood_threshold f WHERE f.village_code = v.code)
               ORDER BY v.code LIMIT %s""",
            (n,),
        )
    ]


def test_shelters_are_allocated_nearest_first_with_real_distances(mayang, conn) -> None:
    codes = _storm_like_codes(conn)
    s = impact_summary(conn, codes, hazard="flash_flood")
    ev = s["evacuation"]
    labels = {
        c: (x, y)
        for c, x, y in conn.execute(
            "SELECT code, ST_X(label_point), ST_Y(label_point) FROM village WHERE code = ANY(%s)",
            (codes,),
        )
    }
    shelters = {
        i: (x, y, free, name)
        for i, x, y, free, name in conn.execute(
            "SELECT id, ST_X(geom), ST_Y(geom), capacity - occupancy, name FROM shelter"
        )
    }
    # every pair within reach, by brute force
    dist = {
        (c, i): _geod_km(*labels[c], sx, sy)
        for c in codes
        for i, (sx, sy, free, _) in shelters.items()
        if free > 0
    }
    need = {v["code"]: v["people_to_move"] for v in s["villages"]}
    assert ev["people_to_move"] == sum(need.values()) == s["totals"]["people"] > 0
    assert ev["placed"] + ev["gap"] == ev["people_to_move"]
    assert ev["placed"] == sum(m["people"] for m in ev["allocation"])
    placed: dict[str, int] = {}
    took: dict[str, int] = {}
    for m in ev["allocation"]:
        assert m["people"] > 0
        assert m["distance_km"] == pytest.approx(
            dist[(m["village_code"], m["shelter_id"])], abs=2e-3
        )
        assert m["distance_km"] <= ev["reach_km"]
        assert m["shelter_name"] == shelters[m["shelter_id"]][3]
        placed[m["village_code"]] = placed.get(m["village_code"], 0) + m["people"]
        took[m["shelter_id"]] = took.get(m["shelter_id"], 0) + m["people"]
    assert all(placed.get(c, 0) <= need[c] for c in codes)
    assert all(took[i] <= shelters[i][2] for i in took)
    # nearest first: a nearer shelter with room left would have taken those people first
    for m in ev["allocation"]:
        for (c, i), d in dist.items():
            if c == m["village_code"] and d < m["distance_km"] - 2e-3:
                assert took.get(i, 0) == shelters[i][2], (m, i, d)
    # the shelters used, with what each takes; the nearest distance is not the old 0.0
    assert {x["id"]: x["takes"] for x in s["shelters"]} == took
    for x in s["shelters"]:
        assert x["free_after"] == shelters[x["id"]][2] - took[x["id"]]
        assert x["distance_km"] == pytest.approx(
            min(d for (c, i), d in dist.items() if i == x["id"]), abs=2e-3
        )
    assert min(m["distance_km"] for m in ev["allocation"]) > 0
    gap = {u["village_code"]: u["people"] for u in ev["unplaced"]}
    assert gap == {c: need[c] - placed.get(c, 0) for c in codes if need[c] > placed.get(c, 0)}
    assert sum(gap.values()) == ev["gap"]


def test_rescue_teams_of_the_right_specialty_within_reach(mayang, conn) -> None:
    codes = _storm_like_codes(conn)
    labels = conn.execute(
        "SELECT ST_X(label_point), ST_Y(label_point) FROM village WHERE code = ANY(%s)", (codes,)
    ).fetchall()
    teams = {
        i: (sp, min(_geod_km(x, y, lx, ly) for lx, ly in labels))
        for i, sp, x, y in conn.execute(
            "SELECT id, specialty, ST_X(geom), ST_Y(geom) FROM rescue_team"
        )
    }
    s = impact_summary(conn, codes, hazard="flash_flood", people_per_team=200)
    r = s["rescue_teams"]
    people = s["totals"]["people"]
    assert r["needed"] == -(-people // 200) > 1
    reach = r["reach_km"]
    flood = sorted((d, i) for i, (sp, d) in teams.items() if sp == "flood_control" and d <= reach)
    support = sorted((d, i) for i, (sp, d) in teams.items() if sp == "comprehensive" and d <= reach)
    expected = [i for _, i in flood]
    expected += [i for _, i in support][: max(0, r["needed"] - len(expected))]
    assert [t["id"] for t in r["teams"]] == expected
    assert len(r["teams"]) > 1  # several when the people to move need them
    assert r["short"] == max(0, r["needed"] - len(expected))
    for t in r["teams"]:
        assert t["distance_km"] == pytest.approx(teams[t["id"]][1], abs=2e-3)
        assert t["role"] == ("specialised" if t["specialty"] == "flood_control" else "support")
        assert t["within_reach"] and t["specialty_zh"]
        assert PHONE.match(t["leader_phone"])


def test_contacts_follow_the_hazard(mayang, conn) -> None:
    stcd, codes = conn.execute(
        """SELECT sv.stcd, array_agg(sv.village_code ORDER BY sv.village_code)
           FROM station_village sv JOIN station s ON s.stcd = sv.stcd
           WHERE s.sttp = 'RR' AND sv.relation = 'downstream'
           GROUP BY sv.stcd ORDER BY sv.stcd LIMIT 1"""
    ).fetchone()
    three = {
        (role, pid)
        for role, pid in conn.execute(
            "SELECT role, person_id FROM duty WHERE stcd = %s AND role LIKE 'reservoir_%%'",
            (stcd,),
        )
    }
    assert len(three) == 3
    res = impact_summary(
        conn, codes, hazard="river_flood", warning_hazard="reservoir", reservoirs=[stcd]
    )
    first = res["contacts"][:3]
    assert {c["role"] for c in first} == {r for r, _ in three}
    assert all(c["concerns"] == stcd and c["call_order"] == 1 for c in first)
    assert [c["role_zh"] for c in first] == ["水库行政责任人", "水库技术责任人", "水库巡查责任人"]
    assert {c["concerns_kind"] for c in res["contacts"][3:]} <= {
        "village",
        "hazard_point",
        "hazardous_site",
    }
    # the same villages as a flash flood: the villages' cadres and grid officers first, no reservoir
    ff = impact_summary(conn, codes, hazard="flash_flood")
    assert ff["contacts"][0]["concerns_kind"] == "village"
    assert "reservoir" not in {c["concerns_kind"] for c in ff["contacts"]}
    grid = {
        (r, a)
        for r, a in conn.execute(
            "SELECT role, admin_code FROM duty WHERE admin_code = ANY(%s)"
            " AND role IN ('village_cadre', 'grid_officer')",
            (codes,),
        )
    }
    assert grid <= {(c["role"], c["concerns"]) for c in ff["contacts"]}
    # a geohazard warning calls the hazard points' monitors (群测群防员) first
    pts = _codes_with_points(conn)
    geo = impact_summary(conn, pts, hazard="geohazard")
    n_points = geo["hazard_points"]["count"]
    head = geo["contacts"][: 2 * n_points]
    assert {c["concerns_kind"] for c in head} == {"hazard_point"}
    monitors = {(p["id"], p["monitor_name"]) for p in geo["hazard_points"]["points"]}
    assert monitors == {(c["concerns"], c["name"]) for c in head if c["role"] == "hazard_monitor"}


def test_a_reservoir_warning_calls_the_reservoir_its_evidence_names(mayang, conn) -> None:
    from datetime import UTC, datetime

    from riskmap.geo.impact import warning_impact
    from riskmap.geo.warnings import lifecycle
    from riskmap.geo.warnings.proposal import Proposal

    stcd, codes = conn.execute(
        """SELECT sv.stcd, array_agg(sv.village_code ORDER BY sv.village_code)
           FROM station_village sv JOIN station s ON s.stcd = sv.stcd
           WHERE s.sttp = 'RR' AND sv.relation = 'downstream'
           GROUP BY sv.stcd ORDER BY sv.stcd DESC LIMIT 1"""
    ).fetchone()
    at = datetime(2026, 7, 14, 3, tzinfo=UTC)
    p = Proposal(
        rule_id="impact-reservoir-test",
        rule_version="1",
        hazard="reservoir",
        colour="yellow",
        at=at,
        village_codes=tuple(codes),
        evidence={c: {"res": 0.4, "res_station": stcd} for c in codes},
        event_zh="水库超汛限",
        event_en="Reservoir over flood limit",
        headline_zh="水库超汛限",
        headline_en="Reservoir over its flood limit",
        description_zh="水位超汛限0.4米。",
        description_en="0.4 m over the limit.",
        instruction_zh="水库三个责任人到岗。",
        instruction_en="The reservoir's three responsible persons on duty.",
    )
    [change] = lifecycle.apply_proposals(conn, [p], at)
    report = warning_impact(conn, change.warning_id)
    assert report["reservoirs"] == [stcd]
    roles = [(c["role"], c["concerns"]) for c in report["contacts"][:3]]
    assert sorted(roles) == sorted(
        (r, stcd) for r in ("reservoir_administrative", "reservoir_technical", "reservoir_patrol")
    )
