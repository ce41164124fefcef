"""Duty (值班值守) over HTTP on a copy of the replayed storm: who is on duty, hand-over notes and
the daily duty report (值班日报) in HTML and PDF, its numbers found again by direct SQL here."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest
from pypdf import PdfReader

from riskmap.api.users import add_user, new_token
from riskmap.geo.settings import Settings
from tests.api.conftest import start_server
from tests.conftest import clone_database, drop_database

STORM_DAY = "2026-07-14"
D0, D1 = "2026-07-13T16:00Z", "2026-07-14T16:00Z"  # 00:00–24:00 Beijing time
HEADINGS = ("值班日报", "一、值班人员", "二、雨水情", "三、预警发布与解除", "四、预警送达",
            "五、灾情报告", "六、应急响应与任务", "七、交接班记录")  # fmt: skip
USERS = {  # name: (role, area)
    "duty-viewer": ("viewer", None),
    "duty-reporter": ("reporter", None),
    "duty-forecaster": ("forecaster", None),
    "duty-elsewhere": ("forecaster", "431227"),  # bound to another county (新晃)
}


@dataclass
class Duty:
    base_url: str
    db_url: str
    tokens: dict[str, str]

    def client(self, user: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[user]}"} if user else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=60)


def _storm_day_as_worked(conn: psycopg.Connection) -> None:
    """The storm's rules hour by hour, a forecaster issuing what awaits review at 16:00 Beijing
    and cancelling one at 18:00, and the loudspeakers of even-numbered villages acknowledging."""
    from riskmap.geo.demo.scenario import DEFAULT_START
    from riskmap.geo.errors import InvalidArgumentError
    from riskmap.geo.risk.build import build_risk
    from riskmap.geo.risk.catalogue import catalogued_dem
    from riskmap.geo.warnings.cycle import reset_for_demo, run_cycle
    from riskmap.geo.warnings.lifecycle import review

    reset_for_demo(conn)
    build_risk(conn, catalogued_dem(conn, "431226"), county="431226")
    conn.commit()
    for h in range(1, 8):
        run_cycle(conn, DEFAULT_START + timedelta(hours=h))
        conn.commit()
    at = DEFAULT_START + timedelta(hours=8)
    candidates = conn.execute("SELECT id FROM warning WHERE status = 'candidate' ORDER BY id")
    for (wid,) in candidates.fetchall():
        try:
            review.issue(conn, wid, "duty-forecaster", "值班审核", at=at)
        except InvalidArgumentError:  # its hold time ran out: nothing to issue (rolled back)
            continue
    conn.commit()
    issued = conn.execute(
        "SELECT min(id) FROM warning WHERE status = 'issued' AND colour = 'yellow'"
    ).fetchone()[0]
    if issued is not None:
        review.cancel(conn, issued, "duty-forecaster", "雨势减弱", at=at + timedelta(hours=2))
    conn.execute(
        "UPDATE outbox SET status = 'acked', sent_at = now(), acked_at = now()"
        " WHERE channel = 'broadcast' AND status = 'pending'"
        " AND right(payload ->> 'village_code', 1) IN ('0', '2', '4', '6', '8')"
    )
    conn.execute(  # a landslide reported from the wettest township at 15:00 Beijing
        "INSERT INTO field_report (kind, village_code, observed_at, reporter, text,"
        " people_affected, injured, geom)"
        " SELECT 'landslide', code, '2026-07-14T15:00+08:00', 'duty-reporter',"
        " '村后山体滑坡，堵塞村道约30米', 8, 1, label_point FROM village"
        " WHERE code LIKE '431226202%' ORDER BY code LIMIT 1"
    )
    conn.commit()


@pytest.fixture(scope="module")
def duty(pg_cluster, storm_url, tmp_path_factory) -> Iterator[Duty]:
    url = clone_database(pg_cluster, storm_url, prefix="t_duty")
    with psycopg.connect(url) as conn:
        for name, (role, area) in USERS.items():
            add_user(conn, name, role, display_name=f"测试{name}", area=area)
        tokens = {name: new_token(conn, name, label="tests") for name in USERS}
        _storm_day_as_worked(conn)
    settings = Settings(data_dir=tmp_path_factory.mktemp("duty"), write_rate_limit="1000/minute")
    base, server, thread = start_server(settings, url)
    yield Duty(base, url, tokens)
    server.should_exit = True
    thread.join(timeout=10)
    drop_database(pg_cluster, url)


def _flat(text: str) -> str:
    """Text without any whitespace (PDF extraction puts breaks and spaces where it likes)."""
    return re.sub(r"\s+", "", text)


def _pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF-")
    return _flat("".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages))


# -- who is on duty ---------------------------------------------------------------------------


def test_duty_now_is_the_roster_at_that_hour(duty: Duty) -> None:
    at = "2026-07-14T10:00:00+08:00"
    with psycopg.connect(duty.db_url) as conn:
        expected = {
            tuple(r)
            for r in conn.execute(
                "SELECT ds.org_code, ds.post, p.id, p.name, p.phone FROM duty_shift ds"
                " JOIN person p ON p.id = ds.person_id WHERE ds.shift @> %s::timestamptz",
                [at],
            )
        }
    assert len(expected) > 40  # a leader, a chief and officers in 19 offices
    with duty.client("duty-viewer") as c:
        r = c.get("/api/duty/now", params={"at": at})
    assert r.status_code == 200, r.text
    got = set()
    for office in r.json()["offices"]:
        people = [("leader", office["leader"]), ("chief", office["chief"])]
        people += [("officer", p) for p in office["officers"]]
        got |= {
            (office["org_code"], post, p["person_id"], p["name"], p["phone"]) for post, p in people
        }
        assert re.fullmatch(r"0\d{3}-\d{7}", office["duty_phone"])
    assert got == expected
    assert r.json()["offices"][0]["org_code"] == "431226"  # the county bureau first


def test_duty_now_needs_a_token_and_keeps_to_the_area(duty: Duty) -> None:
    at = {"at": "2026-07-14T10:00:00+08:00"}
    with duty.client() as c:
        assert c.get("/api/duty/now", params=at).status_code == 401
    with duty.client("duty-elsewhere") as c:
        assert c.get("/api/duty/now", params=at).json()["offices"] == []
        assert c.get("/api/duty/now", params=at | {"county": "431226"}).status_code == 403
    with duty.client("duty-viewer") as c:
        assert c.get("/api/duty/now", params={"at": "2026-07-14T10:00:00"}).status_code == 422


# -- hand-over notes --------------------------------------------------------------------------


def test_handover_note_round_trips_and_is_append_only(duty: Duty) -> None:
    change = "2026-07-14T08:00:00+08:00"
    note = {
        "org_code": "431226",
        "shift_change": change,
        "text": "夜间降雨加强，邓长洲乡、牛桥乡雨量较大，已提醒乡镇值班人员加强巡查。",
        "open_items": ["跟踪下桥水库水位", "核实唐冲镇灾情报告"],
    }
    with duty.client("duty-viewer") as c:
        assert c.post("/api/duty/handovers", json=note).status_code == 403
    with duty.client() as c:
        assert c.post("/api/duty/handovers", json=note).status_code == 401
    with duty.client("duty-elsewhere") as c:
        assert c.post("/api/duty/handovers", json=note).status_code == 403
    with duty.client("duty-forecaster") as c:
        r = c.post("/api/duty/handovers", json=note)
        assert r.status_code == 201, r.text
        first = r.json()
        wrong = c.post(
            "/api/duty/handovers", json=note | {"shift_change": "2026-07-14T09:00+08:00"}
        )
        fix = c.post(
            "/api/duty/handovers",
            json=note | {"text": "更正：雨量较大的是邓长洲乡和杨坝街道。", "corrects": first["id"]},
        )
        assert fix.status_code == 201, fix.text
        listed = c.get("/api/duty/handovers", params={"date": STORM_DAY}).json()["handovers"]
        one = c.get(f"/api/duty/handovers/{first['id']}").json()
    assert wrong.status_code == 422 and wrong.json()["detail"][0]["loc"] == ["body", "shift_change"]
    with psycopg.connect(duty.db_url) as conn:
        chiefs = dict(
            conn.execute(
                "SELECT CASE WHEN upper(ds.shift) = %(t)s THEN 'from' ELSE 'to' END, p.name"
                " FROM duty_shift ds JOIN person p ON p.id = ds.person_id"
                " WHERE ds.org_code = '431226' AND ds.post = 'chief'"
                " AND (upper(ds.shift) = %(t)s OR lower(ds.shift) = %(t)s)",
                {"t": change},
            ).fetchall()
        )
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE duty_handover SET text = 'x' WHERE id = %s", [first["id"]])
        conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM duty_handover WHERE id = %s", [first["id"]])
    assert (first["from_name"], first["to_name"]) == (chiefs["from"], chiefs["to"])
    assert datetime.fromisoformat(first["shift_change"]) == datetime(2026, 7, 14, tzinfo=UTC)
    assert first["open_items"] == note["open_items"] and first["author"] == "duty-forecaster"
    assert [n["id"] for n in listed] == [first["id"], fix.json()["id"]]
    assert one["corrected_by"] == [fix.json()["id"]] and one["text"] == note["text"]


# -- the daily duty report --------------------------------------------------------------------


def _storm_numbers(db_url: str) -> dict:
    """The storm day's numbers, found here without the report's SQL."""
    with psycopg.connect(db_url) as conn:
        by_level = dict(
            conn.execute(
                "SELECT v.colour, count(*) FROM warning_version v JOIN warning w"
                " ON w.id = v.warning_id WHERE v.state = 'published' AND v.msg_type = 'Alert'"
                " AND w.cap_status = 'Actual' AND v.cap_sent >= %s AND v.cap_sent < %s"
                " GROUP BY 1",
                [D0, D1],
            ).fetchall()
        )
        rain_village, rain_township, rain_max = conn.execute(
            "SELECT a.name, t.name, sum(r.mean_mm) FROM village_rain r"
            " JOIN admin_unit a ON a.code = r.village_code"
            " JOIN admin_unit t ON t.code = a.parent_code"
            " WHERE r.product = 'qpe' AND r.valid_start >= %s AND r.valid_end <= %s"
            " GROUP BY a.name, t.name ORDER BY 3 DESC LIMIT 1",
            [D0, D1],
        ).fetchone()
        # villages under the newest announced version of each warning published that day whose
        # loudspeakers have neither taken nor played it (villages without one are apart)
        reports = conn.execute(
            "SELECT count(*) FROM field_report WHERE observed_at >= %s AND observed_at < %s"
            " AND status <> 'false'",
            [D0, D1],
        ).fetchone()[0]
        (not_reached,) = conn.execute(
            """
            WITH ver AS (
                SELECT o.warning_id, max(o.version) AS version FROM outbox o
                WHERE o.channel IN ('broadcast', 'sms') AND NOT o.payload ? 'left_area'
                  AND o.warning_id IN (SELECT warning_id FROM warning_version
                                       WHERE state = 'published' AND cap_sent >= %(d0)s
                                         AND cap_sent < %(d1)s)
                GROUP BY 1
            )
            SELECT count(DISTINCT code) FROM (
                SELECT o.warning_id, o.payload ->> 'village_code' AS code FROM outbox o
                JOIN ver USING (warning_id, version)
                WHERE o.channel = 'broadcast' AND NOT o.payload ? 'left_area'
                GROUP BY 1, 2
                HAVING bool_and(o.status NOT IN ('sent', 'acked'))
            ) missed
            """,
            {"d0": D0, "d1": D1},
        ).fetchone()
    levels = {"red": "一级", "orange": "二级", "yellow": "三级", "blue": "四级"}
    return {
        "issued": sum(by_level.values()),
        "levels": [f"{levels[c]}{n}条" for c, n in by_level.items()],
        "rain": (rain_village, rain_township, f"{rain_max:.1f}"),
        "not_reached": not_reached,
        "reports": reports,
    }


def _check_storm_text(text: str, n: dict) -> None:
    for heading in HEADINGS:
        assert heading in text
    assert f"发布{n['issued']}条" in text
    for level in n["levels"]:
        assert level in text
    village, township, rain = n["rain"]
    assert f"最大{rain}毫米（{township}{village}）" in text
    assert f"未送达村{n['not_reached']}个" in text
    assert f"灾情报告{n['reports']}起" in text


def test_storm_day_report_has_the_storm_numbers_in_html_and_pdf(duty: Duty) -> None:
    n = _storm_numbers(duty.db_url)
    assert n["issued"] >= 3 and len(n["levels"]) >= 2 and 0 < n["not_reached"]
    assert n["reports"] == 1
    with duty.client("duty-viewer") as c:
        html = c.get("/api/duty/report", params={"date": STORM_DAY})
        pdf = c.get("/api/duty/report", params={"date": STORM_DAY, "format": "pdf"})
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert "attachment" in pdf.headers["content-disposition"]
    html_text = _flat(re.sub(r"<[^>]+>", "", html.text))
    _check_storm_text(html_text, n)
    _check_storm_text(_pdf_text(pdf.content), n)
    assert '<html lang="zh-CN">' in html.text
    with psycopg.connect(duty.db_url) as conn:
        titles = conn.execute(
            "SELECT plan_title_zh FROM response WHERE coalesce(started_at, created_at) < %s"
            " AND (ended_at IS NULL OR ended_at >= %s)",
            [D1, D0],
        ).fetchall()
    if titles:  # the responses the plans proposed or a commander started during the storm
        assert all(_flat(t) in html_text for (t,) in titles)
    else:
        assert "六、应急响应与任务无" in html_text
    # the Chinese is set in the CJK font, embedded
    fonts = {
        str(f.get_object()["/BaseFont"])
        for page in PdfReader(io.BytesIO(pdf.content)).pages
        for f in page["/Resources"].get_object()["/Font"].get_object().values()
    }
    assert any(re.search(r"Noto-?Sans-?CJK-?SC", f) for f in fonts), fonts


def test_report_needs_a_token_and_keeps_to_the_area(duty: Duty) -> None:
    with duty.client() as c:
        assert c.get("/api/duty/report", params={"date": STORM_DAY}).status_code == 401
    with duty.client("duty-elsewhere") as c:
        theirs = c.get("/api/duty/report", params={"date": STORM_DAY, "county": "431226"})
        own = c.get("/api/duty/report", params={"date": STORM_DAY})
    assert theirs.status_code == 403
    assert own.status_code == 200 and "新晃侗族自治县" in own.text
    assert "值班平稳" in own.text  # nothing of Mayang's storm in 新晃's report


def test_a_quiet_day_gives_a_valid_report_saying_so(duty: Duty, tmp_path: Path) -> None:
    env = {**os.environ, "RISKMAP_DATABASE_URL": duty.db_url, "RISKMAP_DATA_DIR": str(tmp_path)}
    out = tmp_path / "quiet.pdf"
    riskmap = Path(sys.executable).with_name("riskmap")
    done = subprocess.run(
        [riskmap, "duty", "report", "--date", "2026-06-01", "--county", "431226", "--out", out],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    text = _pdf_text(out.read_bytes())
    assert "值班平稳" in text and "2026年6月1日" in text
    for heading in HEADINGS:
        assert heading in text
    for empty in ("五、灾情报告无", "七、交接班记录无", "（一）发布预警0条"):
        assert empty in text
