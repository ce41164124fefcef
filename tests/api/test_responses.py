"""Responses on the replayed storm: proposed by the plans, started by a commander, tasks to the
people on duty (checked against the roster by direct SQL), SMS rows in the outbox, overdue
flagged once, roles and areas enforced on the API. The tests run in file order on one copy."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from riskmap.api.users import add_user, new_token
from riskmap.geo.demo.scenario import DEFAULT_START
from riskmap.geo.plans import load_plans
from riskmap.geo.responses import actions, flag_overdue
from riskmap.geo.settings import Settings
from riskmap.geo.warnings.cycle import reset_for_demo, run_cycle
from tests.api.conftest import start_server
from tests.conftest import clone_database, drop_database

START_HOUR = 6  # 14:00 Beijing: the first 立即转移 village, the flood plan's Ⅲ (built-in file)
STARTED_AT = DEFAULT_START + timedelta(hours=START_HOUR, minutes=10)
POST = {"leader": "leader", "chief": "chief", "officer": "officer"}


@dataclass
class Site:
    url: str
    db: str
    tokens: dict[str, str]

    def client(self, who: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.tokens[who]}"}, timeout=30
        )


@pytest.fixture(scope="module")
def site(pg_cluster, storm_url, tmp_path_factory) -> Iterator[Site]:
    db = clone_database(pg_cluster, storm_url, prefix="t_resp")
    with psycopg.connect(db) as conn:
        reset_for_demo(conn)
        for h in range(1, START_HOUR + 1):
            run_cycle(conn, DEFAULT_START + timedelta(hours=h))
            conn.commit()
        tokens = {}
        for name, role, area in [
            ("viewer", "viewer", None),
            ("reporter", "reporter", None),
            ("commander", "commander", None),
            ("mayang-commander", "commander", "431226"),
            ("hengyang-commander", "commander", "430421"),  # another county
        ]:
            add_user(conn, name, role, area=area)
            tokens[name] = new_token(conn, name, label="tests")
    settings = Settings(data_dir=tmp_path_factory.mktemp("resp"), write_rate_limit="1000/minute")
    base, server, thread = start_server(settings, db)
    yield Site(base, db, tokens)
    server.should_exit = True
    thread.join(timeout=10)
    drop_database(pg_cluster, db)


def q(db: str, sql: str, *params) -> list[dict]:
    with psycopg.connect(db, row_factory=dict_row) as conn:
        return conn.execute(sql, params).fetchall()


def test_the_storm_proposes_responses(site: Site) -> None:
    rows = q(
        site.db,
        "SELECT r.plan_id, r.status, p.kind, p.level, p.at FROM response r"
        " JOIN response_proposal p ON p.response_id = r.id ORDER BY p.id",
    )
    # hand-read from the built-in plans and the storm: the geohazard risk area (orange, 10:00
    # Beijing) calls for Ⅳ; the first red 立即转移 village (14:00) for flood control Ⅲ
    assert [(r["plan_id"], r["status"], r["kind"], r["level"]) for r in rows] == [
        ("geohazard", "proposed", "start", 4),
        ("flood_control", "proposed", "start", 3),
    ]
    assert rows[1]["at"] == DEFAULT_START + timedelta(hours=START_HOUR)
    # a second evaluation of the same hour proposes nothing new (no duplicates)
    with psycopg.connect(site.db) as conn:
        again = run_cycle(conn, DEFAULT_START + timedelta(hours=START_HOUR))
        conn.commit()
    assert again.responses is not None and again.responses.proposed == []


def test_commander_starts_and_tasks_go_to_the_people_on_duty(site: Site) -> None:
    (p,) = q(site.db, "SELECT p.id, p.response_id FROM response_proposal p JOIN response r"
                      " ON r.id = p.response_id WHERE r.plan_id = 'flood_control'")  # fmt: skip
    with psycopg.connect(site.db) as conn:
        actions.accept(conn, load_plans([]), p["response_id"], p["id"], "commander", "暴雨",
                       at=STARTED_AT)  # fmt: skip
        conn.commit()
    tasks = q(site.db, "SELECT * FROM response_task WHERE response_id = %s", p["response_id"])
    # the built-in flood plan's Ⅳ and Ⅲ tasks: county.chief, township.leader (Ⅳ); township.leader,
    # team.flood_control, warehouse.county (Ⅲ); township tasks once per township with a
    # village under the 立即转移 warning published by then
    towns = {
        r["t"]
        for r in q(
            site.db,
            "SELECT DISTINCT left(c, 9) AS t FROM warning w"
            " JOIN LATERAL (SELECT village_codes FROM warning_version v WHERE v.warning_id = w.id"
            "   AND v.state = 'published' AND v.cap_sent <= %s ORDER BY version DESC LIMIT 1) v"
            "   ON true, unnest(v.village_codes) c WHERE w.hazard = 'flash_flood'",
            STARTED_AT,
        )
    }
    assert towns
    who = sorted((t["who"], t["office_code"]) for t in tasks)
    expected = sorted(
        [("county.chief", "431226"), ("team.flood_control", "431226"),
         ("warehouse.county", "431226")]
        + [("township.leader", t) for t in towns for _ in range(2)]
    )  # fmt: skip
    assert who == expected
    for t in tasks:
        kind, post = t["who"].split(".")
        if kind in ("county", "township"):
            (duty,) = q(site.db, "SELECT person_id FROM duty_shift WHERE org_code = %s"
                        " AND post = %s AND shift @> %s::timestamptz",
                        t["office_code"], POST[post], STARTED_AT)  # fmt: skip
            assert (t["person_id"], t["assigned_how"]) == (duty["person_id"], "on_duty")
        elif kind == "team":
            leaders = q(site.db, "SELECT leader_id FROM rescue_team WHERE specialty = %s"
                        " AND level = 'county'", post)  # fmt: skip
            assert t["person_id"] in {r["leader_id"] for r in leaders}
        else:
            managers = q(site.db, "SELECT manager_id FROM warehouse WHERE level = 'county'")
            assert t["person_id"] in {r["manager_id"] for r in managers}
        if t["who"] == "county.chief":  # the plan file: "after: 30m"
            assert t["due_at"] == STARTED_AT + timedelta(minutes=30)
    # one SMS per task to the assignee's mobile, written to the outbox for the dispatcher
    sms = q(site.db, "SELECT o.target, o.channel, o.status, o.response_task_id, o.payload, p.phone"
            " FROM outbox o JOIN response_task t ON t.id = o.response_task_id"
            " JOIN person p ON p.id = t.person_id WHERE t.response_id = %s",
            p["response_id"])  # fmt: skip
    assert len(sms) == len(tasks)
    for row in sms:
        assert (row["channel"], row["status"], row["target"]) == ("sms", "pending", row["phone"])
        assert "应急响应" in row["payload"]["text"] and row["payload"]["parts"]
    sql = "SELECT kind FROM response_event WHERE response_id = %s ORDER BY id"
    timeline = [r["kind"] for r in q(site.db, sql, p["response_id"])]
    assert timeline[:2] == ["proposed", "started"]
    assert timeline.count("task_created") == len(tasks) == timeline.count("task_notified")


def test_an_overdue_task_is_flagged_once(site: Site) -> None:
    at = STARTED_AT + timedelta(minutes=45)  # past the 30-minute tasks, before the 1-hour ones
    due = {r["id"] for r in q(site.db, "SELECT id FROM response_task WHERE due_at < %s", at)}
    assert due
    before = q(site.db, "SELECT max(id) AS id FROM event_log")[0]["id"]
    with psycopg.connect(site.db) as conn:
        assert set(flag_overdue(conn, at)) == due
        assert flag_overdue(conn, at + timedelta(minutes=5)) == []
        conn.commit()
    events = q(site.db, "SELECT payload FROM event_log WHERE id > %s AND kind = 'response'", before)
    flagged = [e["payload"]["task_id"] for e in events if e["payload"]["change"] == "task_overdue"]
    assert sorted(flagged) == sorted(due)  # one event each
    rid = q(site.db, "SELECT id FROM response WHERE plan_id = 'flood_control'")[0]["id"]
    detail = site.client("viewer").get(f"/api/responses/{rid}").json()
    assert {t["id"] for t in detail["task_list"] if t["overdue"]} >= due


def test_roles_and_areas_on_actions(site: Site) -> None:
    (geo,) = q(site.db, "SELECT id FROM response WHERE plan_id = 'geohazard'")
    url = f"/api/responses/{geo['id']}/start"
    body = {"reason": "会商后启动", "level": 4}
    assert site.client("viewer").post(url, json=body).status_code == 403
    assert site.client("reporter").post(url, json=body).status_code == 403
    other = site.client("hengyang-commander")
    assert other.post(url, json=body).status_code == 403
    assert other.get(f"/api/responses/{geo['id']}").status_code == 403
    assert other.get("/api/responses").json() == []
    r = site.client("mayang-commander").post(url, json=body)
    assert r.status_code == 200, r.text
    started = r.json()
    assert (started["status"], started["level"], started["level_roman"]) == ("active", 4, "Ⅳ")
    assert started["started_by"] == "mayang-commander"
    assert [e["kind"] for e in started["timeline"][:2]] == ["proposed", "started"]
    # nobody is on duty today in the July roster: township tasks fall back to the 乡镇长
    for t in started["task_list"]:
        if t["who"].startswith("township."):
            (head,) = q(site.db, "SELECT person_id FROM duty WHERE role = 'township_leader'"
                        " AND admin_code = %s", t["office_code"])  # fmt: skip
            assert (t["person_id"], t["assigned_how"]) == (head["person_id"], "responsible")
    assert site.client("commander").post(url, json=body).status_code == 409  # started already
    task = started["task_list"][0]
    turl = f"/api/responses/{geo['id']}/tasks/{task['id']}"
    assert site.client("viewer").post(turl, json={"action": "ack"}).status_code == 403
    ack = site.client("reporter").post(turl, json={"action": "ack", "note": "收到"})
    assert ack.status_code == 200 and ack.json()["status"] == "acknowledged"
    done = site.client("reporter").post(turl, json={"action": "done", "note": "已完成"})
    assert done.json()["status"] == "done" and done.json()["overdue"] is False
    lvl = f"/api/responses/{geo['id']}"
    assert (
        site.client("viewer").post(f"{lvl}/raise", json={"reason": "x", "level": 3}).status_code
        == 403
    )
    raised = site.client("commander").post(f"{lvl}/raise", json={"reason": "险情加重", "level": 3})
    assert raised.status_code == 200 and raised.json()["level"] == 3
    same = site.client("commander").post(f"{lvl}/raise", json={"reason": "x", "level": 3})
    assert (same.status_code, same.json()["detail"]) == (409, "level Ⅲ is not above Ⅲ")  # not 500
    lowered = site.client("commander").post(f"{lvl}/lower", json={"reason": "缓解", "level": 4})
    assert lowered.json()["level"] == 4
    same = site.client("commander").post(f"{lvl}/lower", json={"reason": "x", "level": 4})
    assert (same.status_code, same.json()["detail"]) == (409, "level Ⅳ is not below Ⅳ")
    assert all(t["status"] == "cancelled" for t in lowered.json()["task_list"] if t["level"] == 3
               and t["status"] not in ("done",))  # fmt: skip
    ended = site.client("commander").post(f"{lvl}/end", json={"reason": "解除"})
    assert ended.json()["status"] == "ended"
    kinds = [e["kind"] for e in ended.json()["timeline"]]
    assert {"raised", "lowered", "ended", "task_acknowledged", "task_done"} <= set(kinds)
    assert {e["actor"] for e in ended.json()["timeline"] if e["kind"] == "ended"} == {"commander"}


def test_dismissed_proposal_is_not_made_again(site: Site) -> None:
    rid = q(site.db, "SELECT id FROM response WHERE plan_id = 'flood_control'")[0]["id"]
    with psycopg.connect(site.db) as conn:
        run_cycle(conn, DEFAULT_START + timedelta(hours=START_HOUR + 1))  # 23 villages: Ⅱ
        conn.commit()
    (pending,) = q(site.db, "SELECT id, kind, level FROM response_proposal"
                   " WHERE response_id = %s AND status = 'pending'", rid)  # fmt: skip
    assert (pending["kind"], pending["level"]) == ("raise", 2)
    url = f"/api/responses/{rid}/proposals/{pending['id']}/dismiss"
    assert site.client("viewer").post(url, json={"reason": "x"}).status_code == 403
    r = site.client("commander").post(url, json={"reason": "乡镇力量足够"})
    assert r.status_code == 200 and r.json()["level"] == 3 and r.json()["pending_proposal"] is None
    with psycopg.connect(site.db) as conn:
        later = run_cycle(conn, DEFAULT_START + timedelta(hours=START_HOUR + 2))  # still Ⅱ
        conn.commit()
    assert later.responses is not None and later.responses.proposed == []
