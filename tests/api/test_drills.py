"""Drills (演练) end to end: ``riskmap drill run storm`` over a copy of the storm database, with
a real API server (for the loudspeakers' acknowledgements) and the reference receiver.

What must hold: every drill warning is CAP status Exercise with a schema-valid CAP; every
loudspeaker text starts with 演练 and every SMS with 【演练】 after its signature; the real
tables, lists, ATOM feed, OGC collections, tiles and summary are exactly as before; the drill
is visible under /api/drills; the report's numbers are what direct SQL on the drill's schema
gives.
"""

from __future__ import annotations

import base64
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import xmlschema
from lxml import etree
from psycopg import sql
from psycopg.rows import dict_row

from riskmap.api.users import add_user, new_token
from riskmap.geo.db.cluster import EmbeddedCluster
from riskmap.geo.settings import Settings
from tests.api.conftest import start_server
from tests.conftest import SHARED_DATA, clone_database, drop_database
from tests.dispatch.delivery_setup import export_keys
from tests.dispatch.receivers import reference_receiver

CAP_XSD = SHARED_DATA / "cap" / "schema" / "CAP-v1.2.xsd"
CAP_NS = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}
HOURS = 8  # 08:00–16:00 Beijing: the storm's rise and peak, every hazard of the day
MAYANG = (109.8, 27.87)


@dataclass
class DrillWorld:
    url: str
    base_url: str
    token: str
    report: dict[str, Any]
    stdout: str
    before: dict[str, Any]
    after: dict[str, Any]
    receiver_health: dict[str, Any]
    env: dict[str, str]  # what `riskmap` needs to reach the database and the server's keys

    @property
    def drill_id(self) -> int:
        return self.report["drill"]["id"]

    def client(self) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token}"}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30)

    def rows(self, query: str, params: Any = None) -> list[dict[str, Any]]:
        with psycopg.connect(self.url, row_factory=dict_row) as conn:
            schema = f"drill_{self.drill_id}"
            conn.execute("SELECT set_config('search_path', %s, false)", [f"{schema}, public"])
            return conn.execute(query, params).fetchall()


def _tile(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    n = 2**z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return z, int((lon + 180) / 360 * n), int(y)


def _public_view(url: str, base_url: str) -> dict[str, Any]:
    """Every public table's row count, and what the real lists, feed, OGC, tiles and summary
    say (with the parts that tell the time stripped)."""
    with psycopg.connect(url) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname <> 'drill'"
                " ORDER BY 1"
            )
        ]
        counts = {
            t: conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(t))
            ).fetchone()[0]
            for t in tables
        }
    z, x, y = _tile(*MAYANG, 9)
    with httpx.Client(base_url=base_url, timeout=30) as c:
        listed = c.get("/api/warnings", params={"limit": 500, "status": "issued,expired"}).json()
        feed = etree.fromstring(c.get("/api/cap/feed.atom").content)
        collections = c.get("/ogc/collections", params={"f": "json"}).json()
        items = c.get("/ogc/collections/active-warnings/items", params={"f": "json", "limit": 1000})
        tile = c.get(f"/tiles/warnings/{z}/{x}/{y}.mvt")
        summary = c.get("/api/summary").json()
    ns = {"a": "http://www.w3.org/2005/Atom"}
    return {
        "tables": counts,
        "warnings": sorted(f["id"] for f in listed["features"]),
        "atom": sorted(e.findtext("a:id", namespaces=ns) for e in feed.findall("a:entry", ns)),
        "collections": sorted(col["id"] for col in collections["collections"]),
        "ogc_items": sorted(str(f["id"]) for f in items.json().get("features", [])),
        "tile": (tile.status_code, tile.content),
        "summary": {k: v for k, v in summary.items() if k not in {"generated_at", "at", "now"}},
    }


@pytest.fixture(scope="module")
def drill(pg_cluster: EmbeddedCluster, storm_url: str, tmp_path_factory) -> Iterator[DrillWorld]:
    from riskmap.geo.demo.scenario import DEFAULT_START
    from riskmap.geo.warnings.cycle import reset_for_demo, run_cycle

    url = clone_database(pg_cluster, storm_url, prefix="t_drill")
    data_dir = tmp_path_factory.mktemp("drill-data")
    with psycopg.connect(url) as conn:
        reset_for_demo(conn)
        for h in (6, 7):  # real warnings of the storm, for the drill to stay away from
            run_cycle(conn, DEFAULT_START + timedelta(hours=h))
            conn.commit()
        add_user(conn, "test-drill-viewer", "viewer", display_name="演练查看")
        token = new_token(conn, "test-drill-viewer", label="tests")
        conn.commit()
    keys = export_keys(url, data_dir)  # made with the server's installation key
    rx_dir = tmp_path_factory.mktemp("drill-receiver")
    (rx_dir / "keys.json").write_text(json.dumps(keys), encoding="utf-8")
    base, server, thread = start_server(Settings(data_dir=data_dir), url)
    try:
        with reference_receiver(rx_dir, {}, audio=False) as rx:
            before = _public_view(url, base)
            env = os.environ | {
                "RISKMAP_DATABASE_URL": url,
                "RISKMAP_DATA_DIR": str(data_dir),
                "RISKMAP_PUBLIC_URL": base,
            }
            args = ["drill", "run", "storm", "--hours", str(HOURS), "--receiver", rx]
            run = subprocess.run(
                [sys.executable, "-m", "riskmap.api.cli", *args, "--ack-wait", "30", "--json"],
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert run.returncode == 0, run.stderr[-3000:]
            after = _public_view(url, base)
            health = httpx.get(f"{rx}/healthz", timeout=10).json()
        yield DrillWorld(
            url, base, token, json.loads(run.stdout), run.stdout, before, after, health, env
        )
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        drop_database(pg_cluster, url)


def test_drill_warnings_are_exercises_with_valid_cap(drill: DrillWorld) -> None:
    rows = drill.rows("SELECT id, cap_status, drill_id, published_version FROM warning")
    assert len(rows) >= 5, "the storm raises several warnings in its first hours"
    assert {r["cap_status"] for r in rows} == {"Exercise"}
    assert {r["drill_id"] for r in rows} == {drill.drill_id}
    schema = xmlschema.XMLSchema(str(CAP_XSD))
    with drill.client() as c:
        for w in (r for r in rows if r["published_version"] is not None):
            r = c.get(f"/api/drills/{drill.drill_id}/warnings/{w['id']}.cap")
            assert r.status_code == 200 and r.headers["content-type"].startswith("application/cap")
            doc = etree.fromstring(r.content)
            schema.validate(doc)
            assert doc.findtext("cap:status", namespaces=CAP_NS) == "Exercise"
            # the real endpoint does not know the drill's warnings
            assert c.get(f"/api/warnings/{w['id']}.cap").status_code == 404


def test_every_message_says_drill_first(drill: DrillWorld) -> None:
    msgs = drill.rows("SELECT channel, warning_id, payload ->> 'text' AS text FROM outbox")
    spoken = [m["text"] for m in msgs if m["channel"] == "broadcast"]
    texts = [m["text"] for m in msgs if m["channel"] == "sms"]
    assert spoken and texts
    # a villager hears "演练，演练" before anything else, in both rounds, and what it was at the end
    assert all(t.startswith("演练，演练。") for t in spoken)
    assert all(
        "重复一遍：演练，演练。" in t and t.endswith("以上是演练，不是真实预警。") for t in spoken
    )
    assert all(t.split("】", 1)[1].startswith("【演练】") for t in texts)
    tasks = [m for m in msgs if m["channel"] == "sms" and m["warning_id"] is None]
    if tasks:  # a response task's SMS too (the drill's schema marks it)
        assert all("【演练】" in t["text"][:30] for t in tasks)


def test_nothing_of_the_drill_in_the_real_tables_lists_feeds_tiles(drill: DrillWorld) -> None:
    assert drill.before["warnings"], "the real storm warnings are listed"
    for part in ("tables", "warnings", "atom", "collections", "ogc_items", "tile", "summary"):
        assert drill.after[part] == drill.before[part], part


def test_drill_views_and_delivery(drill: DrillWorld) -> None:
    with drill.client() as c:
        assert c.get("/api/drills", headers={"Authorization": ""}).status_code == 401
        listed = c.get("/api/drills").json()["drills"]
        assert [d["id"] for d in listed] == [drill.drill_id]
        assert listed[0]["status"] == "finished" and listed[0]["targets"] == "reference"
        detail = c.get(f"/api/drills/{drill.drill_id}").json()
        ids = {r["id"] for r in drill.rows("SELECT id FROM warning")}
        assert {w["id"] for w in detail["warnings"]} == ids
        assert {w["cap_status"] for w in detail["warnings"]} == {"Exercise"}
        outbox_id = drill.rows(
            "SELECT min(id) AS id FROM outbox WHERE channel = 'broadcast' AND status = 'acked'"
        )[0]["id"]
        audio = c.get(f"/api/drills/{drill.drill_id}/broadcasts/{outbox_id}/audio.wav")
        assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav"
        assert c.get(f"/api/broadcasts/{outbox_id}/audio.wav").status_code == 404
    # the receiver played what the drill sent and confirmed it through the drill's ack path
    assert drill.receiver_health["played"] > 0 and drill.receiver_health["acked"] > 0


def test_report_matches_direct_sql(drill: DrillWorld) -> None:
    with drill.client() as c:
        api = c.get(f"/api/drills/{drill.drill_id}/report").json()
    cli = drill.report
    target = timedelta(minutes=api["targets"]["issue_minutes"])
    ws = drill.rows(
        """SELECT w.id, w.first_fired_at,
                  (SELECT min(v.cap_sent) FROM warning_version v
                   WHERE v.warning_id = w.id AND v.state = 'published') AS issued
           FROM warning w"""
    )
    issued = [w for w in ws if w["issued"] is not None]
    on_time = [w for w in issued if w["issued"] - w["first_fired_at"] <= target]
    for rep in (api, cli):
        assert rep["warnings"]["count"] == len(ws)
        assert rep["warnings"]["issued"] == len(issued)
        assert rep["warnings"]["on_time"] == len(on_time)
        by_id = {i["id"]: i for i in rep["warnings"]["items"]}
        for w in issued:
            minutes = (w["issued"] - w["first_fired_at"]).total_seconds() / 60
            assert by_id[w["id"]]["issue_minutes"] == pytest.approx(minutes, abs=0.05)
    (b,) = drill.rows(
        """SELECT count(DISTINCT payload ->> 'village_code') AS targeted,
                  count(DISTINCT payload ->> 'village_code') FILTER (
                      WHERE status IN ('sent', 'acked')) AS reached,
                  count(DISTINCT payload ->> 'village_code') FILTER (
                      WHERE status = 'acked') AS acked
           FROM outbox WHERE channel = 'broadcast' AND warning_id IS NOT NULL
             AND payload ->> 'msg_type' <> 'Cancel'"""
    )
    got = api["broadcast"]
    assert (got["villages_targeted"], got["villages_acknowledged"]) == (b["targeted"], b["acked"])
    assert got["villages_reached"] >= b["acked"] and b["acked"] > 0
    (s,) = drill.rows("SELECT count(*) AS n FROM outbox WHERE channel = 'sms'")
    assert api["sms"]["messages"] == s["n"] and api["sms"]["held"] is True
    (t,) = drill.rows(
        """SELECT count(*) AS n,
                  count(*) FILTER (WHERE done_at IS NULL AND due_at <= %s) AS missed
           FROM response_task WHERE status <> 'cancelled'""",
        [cli["drill"]["scenario_end"]],
    )
    assert api["tasks"]["count"] == t["n"]
    assert api["tasks"]["not_done_by_deadline"] == t["missed"]
    (lb,) = drill.rows(
        """SELECT count(DISTINCT warning_id) AS n FROM (
               SELECT warning_id, min(created_at) AS queued,
                      min(acked_at) FILTER (WHERE status = 'acked') AS acked
               FROM outbox WHERE channel = 'broadcast' AND warning_id IS NOT NULL
                 AND payload ->> 'msg_type' <> 'Cancel'
               GROUP BY warning_id, payload ->> 'village_code') x
           WHERE acked IS NULL OR acked - queued > %s""",
        [timedelta(minutes=api["targets"]["ack_minutes"])],
    )
    late_tasks = api["tasks"]["done_late"] + t["missed"]
    assert len(api["late"]) == (len(ws) - len(on_time)) + lb["n"] + late_tasks


def test_cli_prints_a_readable_report() -> None:
    from datetime import UTC, datetime

    from riskmap.geo.drills.text import report_lines

    report = {
        "drill": {
            "id": 3,
            "scenario": "storm",
            "county_code": "431226",
            "scenario_start": datetime(2026, 7, 14, tzinfo=UTC),
        },
        "targets": {"issue_minutes": 30.0, "ack_minutes": 10.0},
        "warnings": {
            "count": 2, "issued": 1, "on_time": 1, "not_issued": 1,
            "median_issue_minutes": 20.0, "max_issue_minutes": 20.0,
        },
        "broadcast": {
            "villages_targeted": 10, "villages_reached": 9, "villages_acknowledged": 8,
            "coverage": 0.8, "median_ack_seconds": 1.5, "max_ack_seconds": 4.0,
            "pairs_acknowledged_on_time": 8, "pairs": 10,
        },
        "sms": {"messages": 5, "note_zh": "短信已生成、未发送", "note_en": "held"},
        "tasks": {"responses_started": [], "count": 0},
        "late": [{"zh": "预警 7「暴雨红色预警」：演练结束时仍未发布（待预报员审核）"}],
    }  # fmt: skip
    lines = report_lines(report)
    assert lines[0].startswith("演练 3 评估（storm，431226，情景 2026-07-14 08:00 北京时间起）")
    assert any("确认播放 8 个（覆盖率 80.0%）" in line for line in lines)
    assert lines[-1] == "  · 预警 7「暴雨红色预警」：演练结束时仍未发布（待预报员审核）"


# Issue 16 follow-ups: areas, dropping, killed drills, CAP identifiers, the acknowledgement's 401.

W = 999_999_999  # a drill id that exists nowhere
# A process that registers a drill and then sits in it, as `riskmap drill run` does, until killed.
HOLD_A_DRILL = """
import sys, time
from datetime import timedelta
import psycopg
from riskmap.geo import drills
from riskmap.geo.demo.scenario import DEFAULT_START
conn = psycopg.connect(sys.argv[1])
spec = drills.DrillSpec("storm", "431226", DEFAULT_START, DEFAULT_START + timedelta(hours=1),
                        receiver_url="http://127.0.0.1:9", started_by="test-killed")
print(drills.open_drill(conn, spec)["id"], flush=True)
time.sleep(300)
"""


def _cli(drill: DrillWorld, *args: str) -> subprocess.CompletedProcess:
    run = subprocess.run(
        [sys.executable, "-m", "riskmap.api.cli", "drill", *args],
        env=drill.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    run.stderr = " ".join(run.stderr.split())  # the console wraps long lines
    return run


def _token(drill: DrillWorld, area: str) -> str:
    with psycopg.connect(drill.url) as conn:
        add_user(conn, f"test-drill-{area}", "viewer", area=area)
        return new_token(conn, f"test-drill-{area}", label="tests")


def _drill_exists(drill: DrillWorld, drill_id: int) -> bool:
    """Whether anything of the drill is left: its schema or its register row."""
    with psycopg.connect(drill.url) as conn:
        return conn.execute(
            "SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = %s)"
            " OR EXISTS (SELECT FROM drill WHERE id = %s)",
            [f"drill_{drill_id}", drill_id],
        ).fetchone()[0]


def _cleanup(drill: DrillWorld, drill_id: int | None) -> None:
    """Remove a drill a test made, whatever the code under test did with it."""
    if drill_id is not None:
        with psycopg.connect(drill.url) as conn:
            schema = sql.Identifier(f"drill_{drill_id}")
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(schema))
            conn.execute("DELETE FROM drill WHERE id = %s", [drill_id])


def test_drills_are_kept_to_the_callers_area(drill: DrillWorld) -> None:
    # the drill ran for Mayang 431226: its county and its city (Huaihua 431200) see it, another
    # county (Hengyang county 430421) neither lists it nor reads it by id
    for area, sees in (("431226", True), ("431200", True), ("430421", False)):
        headers = {"Authorization": f"Bearer {_token(drill, area)}"}
        with httpx.Client(base_url=drill.base_url, headers=headers, timeout=30) as c:
            listed = [d["id"] for d in c.get("/api/drills").json()["drills"]]
            detail = c.get(f"/api/drills/{drill.drill_id}")
            report = c.get(f"/api/drills/{drill.drill_id}/report")
        if sees:
            assert listed == [drill.drill_id], area
            assert (detail.status_code, report.status_code) == (200, 200), area
            assert detail.json()["county_code"] == "431226"
        else:
            assert listed == [], area
            assert (detail.status_code, report.status_code) == (403, 403), area
            assert "430421" in detail.json()["detail"] and "431226" in report.json()["detail"]


def test_a_killed_drill_is_failed_not_running(drill: DrillWorld) -> None:
    from riskmap.geo import drills

    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD_A_DRILL, drill.url], env=drill.env, stdout=subprocess.PIPE
    )
    drill_id = None
    try:
        drill_id = int(proc.stdout.readline())
        with drill.client() as c:
            alive = {d["id"]: d for d in c.get("/api/drills").json()["drills"]}[drill_id]
        assert alive["status"] == "running"  # its process holds it
        proc.kill()  # as kill -9, or the machine losing power: no chance to say anything
        proc.wait(timeout=30)
        with psycopg.connect(drill.url, row_factory=dict_row) as conn:
            for _ in range(100):  # the server notices the closed socket at once; allow 5 s
                if drills.get_drill(conn, drill_id)["status"] != "running":
                    break
                conn.rollback()
                time.sleep(0.05)
        lost = (
            "the process running the drill ended without finishing it (killed, or its database"
            " connection was lost); 演练进程中断"
        )
        with drill.client() as c:
            listed = {d["id"]: d for d in c.get("/api/drills").json()["drills"]}[drill_id]
            detail = c.get(f"/api/drills/{drill_id}").json()
        assert (listed["status"], listed.get("error")) == ("failed", lost)
        assert (detail["status"], detail["error"]) == ("failed", lost)
        printed = _cli(drill, "list")
        assert printed.returncode == 0, printed.stderr
        (line,) = [x for x in printed.stdout.splitlines() if x.split()[0] == str(drill_id)]
        assert line.split()[1] == "failed" and line.endswith(lost)
        with psycopg.connect(drill.url) as conn:  # failed, not running: no force needed
            assert drills.drop_drill(conn, drill_id)["status"] == "failed"
        assert not _drill_exists(drill, drill_id)
    finally:
        proc.kill()
        proc.wait(timeout=30)
        _cleanup(drill, drill_id)


def test_drop_a_drill(drill: DrillWorld) -> None:
    from riskmap.geo import drills
    from riskmap.geo.demo.scenario import DEFAULT_START
    from riskmap.geo.errors import ConflictError

    unknown = _cli(drill, "drop", str(W))
    assert unknown.returncode == 1 and f"error: no drill {W}" in unknown.stderr
    spec = drills.DrillSpec(
        "storm", "431226", DEFAULT_START, DEFAULT_START + timedelta(hours=1),
        receiver_url="http://127.0.0.1:9", started_by="test-drop",
    )  # fmt: skip
    drill_id = None
    with psycopg.connect(drill.url) as conn:  # this session is the drill's running process
        try:
            drill_id = drills.open_drill(conn, spec)["id"]
            conn.rollback()
            with psycopg.connect(drill.url) as other, pytest.raises(ConflictError) as refused:
                drills.drop_drill(other, drill_id)  # as `riskmap drill drop ID` would
            assert str(refused.value).startswith(f"drill {drill_id} is running")
            assert _drill_exists(drill, drill_id)
            forced = _cli(drill, "drop", str(drill_id), "--force")
            assert forced.returncode == 0, forced.stderr
            assert forced.stdout.startswith(f"演练 {drill_id} dropped: schema drill_{drill_id}")
            assert not _drill_exists(drill, drill_id)
        finally:
            conn.rollback()
            _cleanup(drill, drill_id)


def test_drill_cap_identifiers_never_equal_real_ones(drill: DrillWorld) -> None:
    query = (
        "SELECT warning_id, version, cap_identifier FROM {}.warning_version"
        " WHERE cap_identifier IS NOT NULL ORDER BY cap_identifier"
    )
    ours = drill.rows(query.format(f"drill_{drill.drill_id}"))
    real = drill.rows(query.format("public"))
    assert ours and real
    # GB/T 35965.1: county, department 013, unit 001, then the spare digits: 99 marks a drill
    assert all(r["cap_identifier"].startswith("43122601300199_") for r in ours)
    assert all(r["cap_identifier"].startswith("43122601300100_") for r in real)
    assert not {r["cap_identifier"] for r in ours} & {r["cap_identifier"] for r in real}
    # the same number (sent in the same second, same serial) in both: the drill replays the day
    by_number = {r["cap_identifier"][15:]: r for r in real}
    same = [
        (d, by_number[d["cap_identifier"][15:]])
        for d in ours
        if d["cap_identifier"][15:] in by_number
    ]
    assert same, "the drill sent messages at the seconds the real warnings were sent"
    d, r = same[0]
    number = d["cap_identifier"][15:]
    with drill.client() as c:
        ours_cap = c.get(
            f"/api/drills/{drill.drill_id}/warnings/{d['warning_id']}.cap",
            params={"version": d["version"]},
        )
        real_cap = c.get(f"/api/warnings/{r['warning_id']}.cap", params={"version": r["version"]})
    ours_doc, real_doc = etree.fromstring(ours_cap.content), etree.fromstring(real_cap.content)
    assert ours_doc.findtext("cap:identifier", namespaces=CAP_NS) == f"43122601300199_{number}"
    assert real_doc.findtext("cap:identifier", namespaces=CAP_NS) == f"43122601300100_{number}"
    assert ours_doc.findtext("cap:status", namespaces=CAP_NS) == "Exercise"
    assert real_doc.findtext("cap:status", namespaces=CAP_NS) == "Actual"


def test_drill_ack_is_401_unsigned_before_the_drill_is_looked_up(drill: DrillWorld) -> None:
    from riskmap.api.dispatch import signing

    body = json.dumps(
        {"broadcast_id": W, "idempotency_key": "x", "terminal_id": "BT1", "result": "played"}
    ).encode()
    plain = {"Content-Type": "application/json"}
    with drill.client() as c:  # a bearer token is no signature
        for drill_id in (W, drill.drill_id):
            r = c.post(f"/api/drills/{drill_id}/broadcasts/{W}/ack", content=body, headers=plain)
            assert r.status_code == 401, (drill_id, r.text)
            assert r.json()["detail"].startswith("unsigned")
    # signed with a terminal's real key, what is wrong is the unknown drill, then the broadcast
    keys = export_keys(drill.url, Path(drill.env["RISKMAP_DATA_DIR"]))
    kid, secret = sorted(keys.items())[0]
    signed = plain | signing.signed_headers(kid, base64.b64decode(secret), body)
    with httpx.Client(base_url=drill.base_url, timeout=30) as c:
        r = c.post(f"/api/drills/{W}/broadcasts/{W}/ack", content=body, headers=signed)
        assert (r.status_code, r.json()["detail"]) == (404, f"no drill {W}")
        r = c.post(f"/api/drills/{drill.drill_id}/broadcasts/{W}/ack", content=body, headers=signed)
        assert (r.status_code, r.json()["detail"]) == (404, f"no broadcast {W}")
