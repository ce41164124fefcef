"""Work-safety sites over HTTP: points with thresholds and readings written for two demo sites,
then the site list, one site and its readings from a real server. Expected levels are worked
out by hand from the thresholds written here."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from riskmap.api.users import add_user, new_token
from riskmap.geo.worksafety.cycle import run_cycle

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def monitored(service) -> dict[str, str]:
    """The demo's tailings dam with a phreatic-line point (alarm when shallower) and a
    displacement point, the chemical plant with a pressure point (high / high-high) and a gas
    detector whose newest reading is flagged faulty."""
    with psycopg.connect(service.db_url) as conn:
        dam, plant = (
            conn.execute(
                "SELECT id FROM hazardous_site WHERE kind = %s AND admin_code LIKE '431226%%'"
                " ORDER BY id LIMIT 1",
                (kind,),
            ).fetchone()[0]
            for kind in ("tailings_dam", "chemical_plant")
        )
        # the demo's own configuration of these sites makes way for this test's points
        conn.execute("DELETE FROM ws_site WHERE site_id IN (%s, %s)", (dam, plant))
        for sid, section in ((dam, "矿山股"), (plant, "危化股")):
            conn.execute(
                "INSERT INTO ws_site (site_id, supervising_section, config_sha256, dataset_id)"
                " SELECT id, %s, 'test', dataset_id FROM hazardous_site WHERE id = %s",
                (section, sid),
            )
        points = [
            # id, site, item, name, unit, direction, thresholds
            ("T-PH1", dam, "phreatic_depth", "浸润线埋深 P1", "m", "below",
             {"blue": 8.0, "yellow": 6.5, "orange": 5.5, "red": 5.0}),
            ("T-GP1", dam, "surface_displacement", "坝顶表面位移 GP1", "mm", "above",
             {"blue": 20.0, "yellow": 40.0, "orange": 60.0, "red": 80.0}),
            ("T-PT1", plant, "pressure", "液氯储罐压力 PT1", "MPa", "above",
             {"high": 1.6, "high_high": 1.8}),
            ("T-GAS1", plant, "toxic_gas", "氯气检测器 GT1", "ppm", "above",
             {"high": 1.0, "high_high": 2.0}),
        ]  # fmt: skip
        for pid, sid, item, name, unit, direction, thresholds in points:
            conn.execute(
                "INSERT INTO ws_point (id, site_id, item, name, unit, direction, dataset_id, geom)"
                " SELECT %s, id, %s, %s, %s, %s, dataset_id, ST_PointOnSurface(geom)"
                " FROM hazardous_site WHERE id = %s",
                (pid, item, name, unit, direction, sid),
            )
            for level, value in thresholds.items():
                conn.execute(
                    "INSERT INTO ws_threshold (point_id, level, value) VALUES (%s, %s, %s)",
                    (pid, level, value),
                )
        conn.execute(
            "SELECT ws_reading_ensure_partitions(%s, %s)",
            (NOW - timedelta(days=2), NOW),
        )
        series = {
            # yellow for an hour, then orange for an hour (ten-minute readings): past the
            # engine's 15-minute minimum duration both times
            "T-PH1": [(m, 6.0 if m > 60 else 5.2, "N") for m in range(120, 0, -10)],
            "T-GP1": [(30, 12.0, "N"), (10, 15.0, "N")],  # below blue
            # high for the newest ten minutes only: shorter than the minimum duration
            "T-PT1": [(20, 1.5, "N"), (10, 1.7, "N")],
            "T-GAS1": [(20, 0.2, "N"), (10, 99.0, "D")],  # faulty: no level
        }
        for pid, rows in series.items():
            for minutes, value, flag in rows:
                conn.execute(
                    "INSERT INTO ws_reading (point_n, tm, value, flag)"
                    " SELECT n, %s, %s, %s FROM ws_point WHERE id = %s",
                    (NOW - timedelta(minutes=minutes), value, flag, pid),
                )
        conn.commit()
        run_cycle(conn, NOW)  # the alarm engine and the sites' grades (default settings)
        add_user(conn, "sites-other-county", "viewer", area="430481")
        other = new_token(conn, "sites-other-county", label="tests")
    return {"dam": dam, "plant": plant, "other": other}


def test_site_list_levels_now(service, monitored) -> None:
    with service.client("viewer") as c:
        r = c.get("/api/sites")
    assert r.status_code == 200, r.text
    by_id = {f["id"]: f["properties"] for f in r.json()["features"]}
    dam, plant = by_id[monitored["dam"]], by_id[monitored["plant"]]
    assert dam["kind_zh"] == "尾矿库" and dam["monitored"] and dam["points"] == 2
    assert dam["level_now"] == {"level": "orange", "colour": "orange"}
    assert plant["level_now"] == {"level": "high", "colour": "yellow"}
    # the grade counts alarms, not readings: the dam's orange held an hour (one orange point:
    # the item and the dam orange); the plant's high reading is too recent to be an alarm
    assert dam["grade"]["level"] == "orange" and "浸润线埋深" in dam["grade"]["reason"]
    assert plant["grade"] is None
    assert plant["supervising_section"] == "危化股"
    unmonitored = [p for p in by_id.values() if p["kind"] == "fireworks_shop"]
    assert unmonitored and all(not p["monitored"] and p["level_now"] is None for p in unmonitored)
    with service.client("viewer") as c:
        only = c.get("/api/sites", params={"kind": "tailings_dam"}).json()["features"]
    assert {f["properties"]["kind"] for f in only} == {"tailings_dam"}


def test_one_site_items_points_and_levels(service, monitored) -> None:
    with service.client("viewer") as c:
        r = c.get(f"/api/sites/{monitored['plant']}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["kind_zh"] == "危险化学品企业" and body["safety_contact_name"]
    items = {i["item"]: i for i in body["items"]}
    assert set(items) == {"pressure", "toxic_gas"}
    assert items["toxic_gas"]["item_zh"] == "有毒气体浓度"
    gas = items["toxic_gas"]["points"][0]
    assert gas["latest_flag"] == "D" and gas["latest_value"] == 99.0 and gas["level"] is None
    pt = items["pressure"]["points"][0]
    assert pt["thresholds"] == {"high": 1.6, "high_high": 1.8}
    assert pt["level"] == {"level": "high", "colour": "yellow"}


def test_readings_series_window_and_errors(service, monitored) -> None:
    dam = monitored["dam"]
    start = (NOW - timedelta(minutes=45)).isoformat()
    with service.client("viewer") as c:
        r = c.get(f"/api/sites/{dam}/readings", params={"from": start, "point": "T-PH1"})
        assert r.status_code == 200, r.text
        (ph,) = r.json()["points"]
        assert [x[1] for x in ph["readings"]] == [5.2] * 4  # 40, 30, 20 and 10 minutes ago
        assert ph["thresholds"]["orange"] == 5.5 and ph["direction"] == "below"
        every = c.get(f"/api/sites/{dam}/readings").json()["points"]
        assert {p["id"]: len(p["readings"]) for p in every} == {"T-GP1": 2, "T-PH1": 12}
        bad = c.get(f"/api/sites/{dam}/readings", params={"point": "T-PT1"})
        assert bad.status_code == 422 and "T-PT1" in bad.text
        assert c.get("/api/sites/NO-SUCH-SITE").status_code == 404
    with service.client() as anonymous:
        assert anonymous.get("/api/sites").status_code == 401


def test_another_countys_user_sees_none_of_them(service, monitored) -> None:
    headers = {"Authorization": f"Bearer {monitored['other']}"}
    with service.client(headers=headers) as c:
        listed = c.get("/api/sites").json()["features"]
        assert all(f["properties"]["admin_code"].startswith("430481") for f in listed)
        r = c.get(f"/api/sites/{monitored['dam']}")
    assert r.status_code == 403 and "430481" in r.text


def test_site_alarms_and_the_alarm_list(service, monitored) -> None:
    with service.client("viewer") as c:
        body = c.get(f"/api/sites/{monitored['dam']}").json()
        listed = c.get("/api/alarms", params={"site": monitored["dam"]}).json()["alarms"]
        plant = c.get("/api/alarms", params={"site": monitored["plant"]}).json()["alarms"]
    (alarm,) = body["open_alarms"]
    assert alarm["point_id"] == "T-PH1" and alarm["level"]["level"] == "orange"
    assert alarm["max_level"]["level"] == "orange" and alarm["value"] == 5.2
    assert body["faults"] == []
    items = {i["item"]: i for i in body["items"]}
    assert items["phreatic_depth"]["grade"]["level"] == "orange"
    assert [a["id"] for a in listed] == [alarm["id"]]
    assert plant == []  # a reading past high for ten minutes is not an alarm yet
    other = {"Authorization": f"Bearer {monitored['other']}"}
    with service.client(headers=other) as c:
        assert c.get("/api/alarms").json()["alarms"] == []


def test_a_chemical_plant_lists_the_villages_around_it_and_downwind(service, monitored) -> None:
    """Without wind: every village in the planning radius; with a wind: those in the isolation
    circle or the downwind sector only — each a village the no-wind list has, with a bearing
    within 30° (60° in light wind) of downwind or a distance inside the circle."""
    plant = monitored["plant"]
    with service.client("viewer") as c:
        calm = c.get(f"/api/sites/{plant}").json()["exposed"]
        windy = c.get(f"/api/sites/{plant}", params={"wind_from": 0, "wind_speed": 5}).json()[
            "exposed"
        ]
        half = c.get(f"/api/sites/{plant}", params={"wind_from": 0})
        dam = c.get(f"/api/sites/{monitored['dam']}").json()["exposed"]
    assert calm and all(v["reason"] == "radius" for v in calm)
    assert [v["distance_m"] for v in calm] == sorted(v["distance_m"] for v in calm)
    assert {v["village_code"] for v in windy} <= {v["village_code"] for v in calm}
    for v in windy:  # a north wind blows south: bearing 180°
        off = abs((v["bearing_deg"] - 180 + 180) % 360 - 180)
        assert (v["reason"] == "downwind" and off <= 31) or v["reason"] == "isolation", v
    assert len(windy) < len(calm)
    assert half.status_code == 422 and dam == []
