"""A village's page over HTTP, checked against the demo county's tables and the rules' own rain
functions: profile, rain series and windows, station levels, warnings; 404, 422 and 401."""

from __future__ import annotations

import re
from datetime import datetime

import psycopg
import pytest
from psycopg.rows import dict_row

VILLAGE = "431226102216"  # 龙冲塘村, 唐冲镇: thresholds, a gauge downstream, several warnings


def _db(service) -> psycopg.Connection:
    return psycopg.connect(service.db_url, row_factory=dict_row)


def test_profile_of_a_demo_village(service) -> None:
    with service.client("viewer") as c:
        r = c.get(f"/api/villages/{VILLAGE}")
    assert r.status_code == 200, r.text
    body = r.json()
    with _db(service) as conn:
        v = conn.execute("SELECT * FROM village WHERE code = %s", [VILLAGE]).fetchone()
        thresholds = conn.execute(
            "SELECT duration_h, prepare_mm, immediate_mm FROM flash_flood_threshold "
            "WHERE village_code = %s ORDER BY duration_h",
            [VILLAGE],
        ).fetchall()
        duties = conn.execute(
            "SELECT role, p.name FROM duty d JOIN person p ON p.id = d.person_id "
            "WHERE d.admin_code = %s",
            [VILLAGE],
        ).fetchall()
        (risk_rows,) = (
            conn.execute("SELECT count(*) FROM village_risk WHERE village_code = %s", [VILLAGE])
            .fetchone()
            .values()
        )
    village = body["village"]
    assert village["name"] == v["name"] == "龙冲塘村"
    assert village["township_code"] == "431226102" and village["township_name"] == "唐冲镇"
    assert village["population"] == v["population"] and village["households"] == v["households"]
    assert village["schools"] == v["schools"] and village["clinics"] == v["clinics"]
    got = [
        (t["duration_h"], t["prepare_mm"], t["immediate_mm"])
        for t in body["flash_flood_thresholds"]
    ]
    assert got == [tuple(t.values()) for t in thresholds] and len(got) == 3
    assert all(t["method"] for t in body["flash_flood_thresholds"])
    village_duties = {
        (d["role"], d["name"]) for d in body["responsible"] if d["concerns_kind"] == "village"
    }
    assert village_duties == {(d["role"], d["name"]) for d in duties}
    assert "village_cadre" in {d["role"] for d in body["responsible"]}
    assert len(body["risk"]) == risk_rows
    assert len(body["facilities"]) == village["schools"] + village["clinics"]


def test_hazard_points_nearby_are_measured_geodesically(service) -> None:
    with _db(service) as conn:
        code = conn.execute(
            "SELECT village_code FROM hazard_point GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()["village_code"]
        expect = conn.execute(
            "SELECT h.id, ST_Distance(h.geom::geography, v.geom::geography) AS d "
            "FROM hazard_point h, village v WHERE v.code = %(c)s "
            "AND (h.village_code = %(c)s OR ST_DWithin(h.geom::geography, v.geom::geography, 500)) "
            "ORDER BY d, h.id",
            {"c": code},
        ).fetchall()
    with service.client("viewer") as c:
        r = c.get(f"/api/villages/{code}", params={"radius_m": 500})
    assert r.status_code == 200, r.text
    feats = r.json()["hazard_points"]["features"]
    assert [f["id"] for f in feats] == [e["id"] for e in expect] and len(feats) >= 10
    for f, e in zip(feats, expect, strict=True):
        assert f["properties"]["distance_m"] == pytest.approx(e["d"], abs=0.1)
    assert all(f["properties"]["monitor_phone"] for f in feats)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/villages/431226999999", 404),
        ("/api/villages/43122610221", 422),
        ("/api/villages/43122610221x", 422),
        ("/api/villages/431226999999/rain", 404),
        ("/api/villages/4312261022160/levels", 422),
        ("/api/villages/431226999999/warnings", 404),
    ],
)
def test_unknown_code_is_404_malformed_is_422(service, path: str, status: int) -> None:
    with service.client("viewer") as c:
        r = c.get(path)
    assert r.status_code == status, r.text
    if status == 422:
        assert r.json()["detail"][0]["loc"] == ["path", "code"]


def test_village_needs_a_token(service) -> None:
    with service.client() as c:
        assert c.get(f"/api/villages/{VILLAGE}").status_code == 401


def test_rain_series_and_windows_match_the_rules(service) -> None:
    to = "2026-07-14T20:00:00+08:00"
    with service.client("viewer") as c:
        r = c.get(
            f"/api/villages/{VILLAGE}/rain",
            params={"from": "2026-07-14T08:00:00+08:00", "to": to, "step": "3h"},
        )
    assert r.status_code == 200, r.text
    body = r.json()
    series = body["series"]
    assert len(series) == 4 and series[0]["step_start"].startswith("2026-07-14T00:00")
    with _db(service) as conn:
        qpe = conn.execute(
            "SELECT sum(mean_mm) AS s FROM village_rain WHERE village_code = %s "
            "AND product = 'qpe' AND valid_start >= '2026-07-14T00:00Z' "
            "AND valid_end <= '2026-07-14T12:00Z'",
            [VILLAGE],
        ).fetchone()["s"]
        rules = {
            row["window_hours"]: row
            for row in conn.execute(
                "SELECT * FROM village_rain_windows(%s::timestamptz, ARRAY[1, 3, 6, 12, 24]) "
                "WHERE village_code = %s",
                [to, VILLAGE],
            ).fetchall()
        }
    assert sum(s["qpe_mm"] for s in series) == pytest.approx(qpe)
    assert series[-1]["cumulative_mm"] == pytest.approx(qpe, abs=1e-3)
    assert all(s["source"] == "qpe" for s in series)
    windows = {w["hours"]: w for w in body["windows"]}
    assert set(windows) == {1, 3, 6, 12, 24}
    for h, w in windows.items():
        assert w["rain_mm"] == pytest.approx(rules[h]["rain_mm"])
        assert w["source"] == rules[h]["source"]
    assert windows[24]["rain_mm"] > 50  # the storm


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-07-14T03:00:00"}, "from"),  # no time zone
        ({"from": "2026-07-14T10:00:00+08:00", "to": "2026-07-14T09:00:00+08:00"}, "from"),
        ({"step": "fortnight"}, "step"),
        ({"step": "1m"}, "step"),
        ({"from": "2026-01-01T00:00:00+08:00", "to": "2026-07-01T00:00:00+08:00"}, "from"),
    ],
)
def test_bad_rain_queries_are_422(service, params: dict, field: str) -> None:
    with service.client("viewer") as c:
        r = c.get(f"/api/villages/{VILLAGE}/rain", params=params)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"][-1] == field


def test_levels_of_the_stations_concerning_the_village(service) -> None:
    start, end = "2026-07-14T08:00:00+08:00", "2026-07-15T08:00:00+08:00"
    with service.client("viewer") as c:
        r = c.get(f"/api/villages/{VILLAGE}/levels", params={"from": start, "to": end})
    assert r.status_code == 200, r.text
    stations = r.json()["stations"]
    with _db(service) as conn:
        expect = conn.execute(
            "SELECT sv.stcd FROM station_village sv JOIN station s USING (stcd) "
            "WHERE sv.village_code = %s AND s.sttp <> 'PP' ORDER BY sv.distance_km, sv.stcd",
            [VILLAGE],
        ).fetchall()
        counts = {
            r["stcd"]: r["n"]
            for r in conn.execute(
                "SELECT stcd, count(*) AS n FROM (SELECT stcd, tm FROM river_obs UNION ALL "
                "SELECT stcd, tm FROM reservoir_obs) o WHERE tm BETWEEN %s AND %s GROUP BY 1",
                [start, end],
            ).fetchall()
        }
    assert [s["stcd"] for s in stations] == [e["stcd"] for e in expect] and stations
    gauge = stations[0]
    assert gauge["sttp"] == "ZQ" and gauge["warning_z"] < gauge["guarantee_z"]
    for st in stations:
        assert len(st["series"]) == counts.get(st["stcd"], 0)
    assert gauge["series"], "the storm's river stages"
    times = [datetime.fromisoformat(o["tm"]) for o in gauge["series"]]
    assert times == sorted(times)
    assert gauge["latest_level_m"] == gauge["series"][-1]["level_m"]
    expected_state = (
        "above_guarantee" if gauge["latest_level_m"] >= gauge["guarantee_z"]
        else "above_warning" if gauge["latest_level_m"] >= gauge["warning_z"]
        else "normal"
    )  # fmt: skip
    assert gauge["state"] == expected_state


def test_warnings_of_the_village(service) -> None:
    with _db(service) as conn:
        expect = [
            r["id"]
            for r in conn.execute(
                "SELECT id FROM warning WHERE %s = ANY(village_codes) "
                "ORDER BY first_fired_at DESC, id DESC",
                [VILLAGE],
            ).fetchall()
        ]
    with service.client("viewer") as c:
        r = c.get(f"/api/villages/{VILLAGE}/warnings")
        issued = c.get(f"/api/villages/{VILLAGE}/warnings", params={"status": "expired"})
    assert r.status_code == 200, r.text
    rows = r.json()["warnings"]
    assert [w["id"] for w in rows] == expect and len(expect) >= 2
    assert all(w["headline_zh"] for w in rows)
    assert {w["status"] for w in issued.json()["warnings"]} <= {"expired"}


def _strings(value) -> list[str]:
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *_strings(v)]]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def test_no_response_shows_a_server_path(service) -> None:
    """The profile's risk inputs and the datasets' parameters name their files, not the
    server's folders (the demo wrote them under a temporary folder: that must not show)."""
    with _db(service) as conn:
        stored = conn.execute(
            "SELECT (SELECT count(*) FROM village_risk WHERE inputs::text ~ '\"/')"
            " + (SELECT count(*) FROM dataset WHERE params::text ~ '\"/') AS n"
        ).fetchone()["n"]
    assert stored > 0  # the database does hold absolute paths: the API must keep them in
    # a file-system path: absolute and under a folder of the machine (URL paths of the API,
    # such as /api/reports/2/photos/1, are links, not folders)
    absolute = re.compile(r"^[A-Za-z]:\\|(^|/)(tmp|home|root|srv|var|work|usr|opt|etc)/")
    with service.client("admin") as c:
        bodies = [
            c.get(f"/api/villages/{VILLAGE}"),
            c.get("/api/datasets"),
            c.get("/api/reports"),
            c.get("/healthz"),
        ]
    for r in bodies:
        assert r.status_code == 200, r.text
        leaks = [s for s in _strings(r.json()) if absolute.search(s)]
        assert not leaks, (str(r.url), leaks[:3])
    risk = bodies[0].json()["risk"]
    assert risk and risk[0]["inputs"]["dem"]["path"].endswith(".tif")  # the file name stays
