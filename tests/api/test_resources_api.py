"""Resource one map over HTTP: nearest answers equal a full PostGIS geodesic scan, summary totals
equal the table sums, bad input is a 422 naming the parameter."""

from __future__ import annotations

from collections import Counter

import psycopg
import pytest

POINT = (109.80, 27.87)  # near 石小岭镇, inside the demo county


def _brute(db_url: str, table: str, where: str, origin: str, params: dict, k: int) -> list[tuple]:
    """Every row's geodesic distance to the origin, no index, no KNN: (id, metres)."""
    q = (
        f"SELECT t.id, ST_Distance(t.geom::geography, ({origin})::geography) AS d "
        f"FROM {table} t WHERE {where} ORDER BY d, t.id LIMIT %(k)s"
    )
    with psycopg.connect(db_url) as conn:
        return conn.execute(q, params | {"k": k}).fetchall()


POINT_SQL = "ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)"


def _check_against(features: list[dict], brute: list[tuple]) -> None:
    assert [f["id"] for f in features] == [b[0] for b in brute]
    for f, (_, d) in zip(features, brute, strict=True):
        assert f["properties"]["distance_m"] == pytest.approx(d, abs=0.1)
        assert f["geometry"]["type"] == "Point"
        lon, lat = f["geometry"]["coordinates"]
        assert -180 <= lon <= 180 and -90 <= lat <= 90
    ds = [f["properties"]["distance_m"] for f in features]
    assert ds == sorted(ds)


def test_nearest_shelters_with_free_capacity_match_postgis(service) -> None:
    lon, lat = POINT
    with service.client("viewer") as c:
        r = c.get(
            "/api/resources/nearest",
            params={"kind": "shelter", "lon": lon, "lat": lat, "k": 7, "min_free": 600},
        )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["type"] == "FeatureCollection" and body["kind"] == "shelter"
    brute = _brute(
        service.db_url, "shelter", "t.capacity - t.occupancy >= 600", POINT_SQL,
        {"lon": lon, "lat": lat}, 7,
    )  # fmt: skip
    assert len(brute) == 7
    _check_against(body["features"], brute)
    assert all(f["properties"]["free"] >= 600 for f in body["features"])


@pytest.mark.parametrize("item", ["tent", "帐篷"])
def test_nearest_warehouses_holding_an_item_by_code_or_name(service, item: str) -> None:
    lon, lat = POINT
    with service.client("viewer") as c:
        r = c.get(
            "/api/resources/nearest",
            params={"kind": "warehouse", "lon": lon, "lat": lat, "item": item},
        )
    assert r.status_code == 200, r.text
    feats = r.json()["features"]
    where = "EXISTS (SELECT 1 FROM stock s WHERE s.warehouse_id = t.id AND s.item = 'tent' AND s.quantity > 0)"  # noqa: E501
    _check_against(
        feats, _brute(service.db_url, "warehouse", where, POINT_SQL, {"lon": lon, "lat": lat}, 5)
    )
    with psycopg.connect(service.db_url) as conn:
        for f in feats:
            [tent] = f["properties"]["stock"]
            assert tent["item"] == "tent" and tent["item_name"] == "帐篷"
            (qty,) = conn.execute(
                "SELECT quantity FROM stock WHERE warehouse_id = %s AND item = 'tent'", [f["id"]]
            ).fetchone()
            assert tent["quantity"] == qty > 0


def test_nearest_teams_to_a_warning_area(service) -> None:
    with psycopg.connect(service.db_url) as conn:
        (wid,) = conn.execute("SELECT min(id) FROM warning").fetchone()
    with service.client("viewer") as c:
        r = c.get(
            "/api/resources/nearest",
            params={"kind": "team", "warning_id": wid, "specialty": "comprehensive", "k": 4},
        )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["origin"] == {"warning_id": wid}
    brute = _brute(
        service.db_url, "rescue_team", "t.specialty = 'comprehensive'",
        "SELECT geom FROM warning WHERE id = %(wid)s", {"wid": wid}, 4,
    )  # fmt: skip
    _check_against(body["features"], brute)
    with psycopg.connect(service.db_url) as conn:
        inside = dict(
            conn.execute(
                "SELECT t.id, ST_Intersects(t.geom, w.geom) FROM rescue_team t, warning w "
                "WHERE w.id = %s",
                [wid],
            ).fetchall()
        )
    for f in body["features"]:  # 0 m exactly for teams inside the warned area
        assert (f["properties"]["distance_m"] == 0.0) == inside[f["id"]]
    assert {f["properties"]["specialty"] for f in body["features"]} == {"comprehensive"}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"kind": "boats", "lon": 109.8, "lat": 27.8}, "kind"),
        ({"kind": "shelter", "lon": 190, "lat": 27.8}, "lon"),
        ({"kind": "shelter", "lon": 109.8, "lat": -91}, "lat"),
        ({"kind": "shelter", "lon": 109.8}, "lat"),
        ({"kind": "shelter"}, "lon"),
        ({"kind": "shelter", "lon": 109.8, "lat": 27.8, "warning_id": 1}, "warning_id"),
        ({"kind": "team", "lon": 109.8, "lat": 27.8, "min_free": 5}, "min_free"),
        ({"kind": "shelter", "lon": 109.8, "lat": 27.8, "item": "tent"}, "item"),
        ({"kind": "team", "lon": 109.8, "lat": 27.8, "specialty": "juggling"}, "specialty"),
        ({"kind": "team", "lon": 109.8, "lat": 27.8, "k": 0}, "k"),
        ({"kind": "team", "lon": 109.8, "lat": 27.8, "expertise": "flood"}, "expertise"),
        ({"kind": "expert", "lon": 109.8, "lat": 27.8, "expertise": "juggling"}, "expertise"),
        ({"kind": "expert", "lon": 109.8, "lat": 27.8, "specialty": "medical"}, "specialty"),
    ],
)
def test_bad_nearest_queries_are_422_naming_the_parameter(service, params, field) -> None:
    with service.client("viewer") as c:
        r = c.get("/api/resources/nearest", params=params)
    assert r.status_code == 422, r.text
    assert any(e["loc"][-1] == field for e in r.json()["detail"]), r.text


def test_nearest_experts_are_measured_to_the_area_they_serve(service) -> None:
    """Experts have no location: the distance is to the admin unit they serve (0 inside it),
    the point is that unit's label point, and the answer says so."""
    outside = (110.6, 27.9)  # east of the demo county
    with service.client("viewer") as c:
        inside = c.get(
            "/api/resources/nearest",
            params={"kind": "expert", "lon": POINT[0], "lat": POINT[1], "k": 100},
        )
        far = c.get(
            "/api/resources/nearest",
            params={"kind": "expert", "lon": outside[0], "lat": outside[1], "expertise": "flood"},
        )
    assert inside.status_code == 200 and far.status_code == 200, (inside.text, far.text)
    with psycopg.connect(service.db_url) as conn:
        (n,) = conn.execute("SELECT count(*) FROM expert").fetchone()
        want = dict(
            conn.execute(
                "SELECT e.person_id, ST_Distance(u.geom::geography, "
                "ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography) "
                "FROM expert e JOIN person p ON p.id = e.person_id "
                "JOIN admin_unit u ON u.code = p.admin_code WHERE e.specialty = 'flood'",
                list(outside),
            ).fetchall()
        )
    feats = inside.json()["features"]
    assert inside.json()["kind_zh"] == "专家" and len(feats) == n
    assert all(f["properties"]["distance_m"] == 0.0 for f in feats)
    assert all(f["properties"]["located"] == "service_area" for f in feats)
    flood = far.json()["features"]
    assert {f["id"] for f in flood} <= set(want) and len(flood) == min(5, len(want))
    for f in flood:
        assert f["properties"]["specialty"] == "flood"
        assert f["properties"]["distance_m"] == pytest.approx(want[f["id"]], abs=0.1)
        assert f["properties"]["distance_m"] > 0


def test_expert_pool_lists_every_expert(service) -> None:
    with service.client("viewer") as c:
        r = c.get("/api/resources/experts")
        medical = c.get("/api/resources/experts", params={"expertise": "medical"})
        summary = c.get("/api/resources/summary")
    assert r.status_code == 200, r.text
    with psycopg.connect(service.db_url) as conn:
        rows = dict(conn.execute("SELECT person_id, specialty FROM expert").fetchall())
    feats = r.json()["features"]
    assert {f["id"]: f["properties"]["specialty"] for f in feats} == rows
    assert all(f["properties"]["phone"] and f["properties"]["serves_name"] for f in feats)
    assert {f["properties"]["specialty"] for f in medical.json()["features"]} == {"medical"}
    assert summary.json()["totals"]["experts"] == len(rows)


def test_nearest_unknown_warning_is_404_and_token_needed(service) -> None:
    with service.client("viewer") as c:
        r = c.get("/api/resources/nearest", params={"kind": "team", "warning_id": 10**9})
    assert r.status_code == 404
    with service.client() as c:
        r = c.get("/api/resources/nearest", params={"kind": "team", "lon": 109.8, "lat": 27.8})
    assert r.status_code == 401


def test_summary_totals_equal_the_table_sums(service) -> None:
    with service.client("viewer") as c:
        r = c.get("/api/resources/summary", params={"by": "township"})
    assert r.status_code == 200, r.text
    body = r.json()
    totals = body["totals"]
    with psycopg.connect(service.db_url) as conn:
        cap, occ, n_shelters = conn.execute(
            "SELECT sum(capacity), sum(occupancy), count(*) FROM shelter"
        ).fetchone()
        stock = dict(conn.execute("SELECT item, sum(quantity) FROM stock GROUP BY item").fetchall())
        teams = dict(
            conn.execute("SELECT specialty, count(*) FROM rescue_team GROUP BY 1").fetchall()
        )
        (n_wh,) = conn.execute("SELECT count(*) FROM warehouse").fetchone()
        town = "431226102"
        town_cap, town_n = conn.execute(
            "SELECT sum(s.capacity), count(*) FROM shelter s "
            "JOIN admin_unit a ON a.code = s.admin_code WHERE %s IN (a.code, a.parent_code)",
            [town],
        ).fetchone()
        (town_sandbags,) = conn.execute(
            "SELECT sum(s.quantity) FROM stock s JOIN warehouse w ON w.id = s.warehouse_id "
            "JOIN admin_unit a ON a.code = w.admin_code "
            "WHERE %s IN (a.code, a.parent_code) AND s.item = 'sandbag'",
            [town],
        ).fetchone()
    assert totals["capacity"] == cap and totals["occupied"] == occ
    assert totals["free"] == cap - occ and totals["shelters"] == n_shelters
    assert totals["warehouses"] == n_wh
    assert {s["item"]: s["quantity"] for s in totals["stock"]} == {
        k: int(v) for k, v in stock.items()
    }
    assert totals["teams"] == teams
    groups = {g["code"]: g for g in body["groups"]}
    assert groups[town]["level"] == "township" and groups[town]["name"] == "唐冲镇"
    assert groups[town]["capacity"] == town_cap and groups[town]["shelters"] == town_n
    sandbag = next(s for s in groups[town]["stock"] if s["item"] == "sandbag")
    assert sandbag["quantity"] == town_sandbags
    assert sum(Counter(g["teams"]).total() for g in body["groups"]) == sum(teams.values())
    with service.client("viewer") as c:
        assert c.get("/api/resources/summary", params={"by": "river"}).status_code == 422
