"""Emergency responses (应急响应, issue 16) on the console and the wall map, in a real browser.

A copy of the live demo (conftest.py): the storm replayed to end now, the flood-control
response started by the demo commander with its tasks (long past their deadlines: overdue), and
the plans' other proposals waiting. One of the tasks is given a deadline two hours ahead here,
so the list has tasks on time too. The figures the pages must show are counted by direct SQL,
never asked of the API. The tests run in file order on the one copy: a viewer looks, a
commander accepts a proposal, a duty officer finishes a task, then the responses are ended.

Page contract (console, responses.ts): ``#response-list li.response[data-response-id]`` with
data-status, data-level, data-tasks, data-tasks-done, data-tasks-acknowledged,
data-tasks-overdue; ``.proposal[data-proposal-id] button[data-action=accept|dismiss]``;
``details.response-detail`` → ``li.task[data-task-id][data-status][data-overdue]`` with
``button[data-action=ack|done]``; ``ol.timeline li[data-kind]``; ``#response-dialog`` with
``textarea[name=reason]`` and ``#response-submit``. Wall (response.ts): ``#response-box`` with
data-level, data-responses, data-tasks, data-tasks-done, data-tasks-overdue.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from riskmap.api.passwords import set_password
from riskmap.api.users import add_user, new_token
from riskmap.geo.settings import Settings
from tests.conftest import clone_database, drop_database
from tests.web.conftest import ARTIFACTS, PASSWORD, WebService, page_opener, wait_ready

COUNTY, CITY = "431226", "431200"
# token key: (role, area); the user is web-<key>
USERS = {
    "commander": ("commander", None),
    "viewer": ("viewer", None),
    "reporter": ("reporter", None),  # duty staff: may `task`, not `respond`
    "city": ("commander", CITY),
    "county": ("forecaster", COUNTY),
}
LEVEL = {1: "Ⅰ", 2: "Ⅱ", 3: "Ⅲ", 4: "Ⅳ"}


@pytest.fixture(scope="module")
def site(pg_cluster, live_storm_url, tmp_path_factory) -> Iterator[WebService]:
    url = clone_database(pg_cluster, live_storm_url, prefix="t_wresp")
    service = WebService(
        db_url=url,
        settings=Settings(
            data_dir=tmp_path_factory.mktemp("web-resp"), write_rate_limit="1000/minute"
        ),
    )
    with psycopg.connect(url) as conn:
        for key, (role, area) in USERS.items():
            add_user(conn, f"web-{key}", role, display_name=f"响应测试{key}", area=area)
            service.tokens[key] = new_token(conn, f"web-{key}", label="web tests")
            service.roles[key] = role
            set_password(conn, f"web-{key}", PASSWORD)
        # one task of the started response on time: due two hours from now
        conn.execute(
            """UPDATE response_task SET due_at = now() + interval '2 hours'
               WHERE id = (SELECT t.id FROM response_task t JOIN response r
                           ON r.id = t.response_id WHERE r.status = 'active'
                           AND t.status = 'open' ORDER BY t.id DESC LIMIT 1)"""
        )
        conn.commit()
    service.start()
    yield service
    service.stop()
    drop_database(pg_cluster, url)


@pytest.fixture
def open_site(browser, site: WebService, request):
    with page_opener(browser, site, request) as opener:
        yield opener


def q(site: WebService, sql: str, *params) -> list[dict]:
    with psycopg.connect(site.db_url, row_factory=dict_row) as conn:
        return conn.execute(sql, params).fetchall()


def counted(site: WebService, response_id: int) -> dict[str, str]:
    """The task counts of a response as the page's data-* attributes must carry them."""
    (row,) = q(
        site,
        """SELECT count(*) FILTER (WHERE status <> 'cancelled') AS tasks,
                  count(*) FILTER (WHERE status = 'done') AS "tasks-done",
                  count(*) FILTER (WHERE status IN ('acknowledged', 'done'))
                      AS "tasks-acknowledged",
                  count(*) FILTER (WHERE status IN ('open', 'acknowledged') AND due_at < now())
                      AS "tasks-overdue"
           FROM response_task WHERE response_id = %s""",
        response_id,
    )
    return {k: str(v) for k, v in row.items()}


def shown(locator, keys) -> dict[str, str]:
    return {k: locator.get_attribute(f"data-{k}") for k in keys}


def active(site: WebService) -> list[dict]:
    return q(site, "SELECT * FROM response WHERE status = 'active' ORDER BY level, id")


def api(site: WebService, method: str, path: str, key: str, **kw) -> httpx.Response:
    headers = {"Authorization": f"Bearer {site.tokens[key]}"}
    return httpx.request(method, site.base_url + path, headers=headers, timeout=30, **kw)


def open_console(open_site, key: str):
    watched = open_site("/", role=key)
    wait_ready(watched)
    watched.page.wait_for_selector("#response-list li.response")
    return watched


def test_console_lists_the_active_response_with_the_counted_tasks(open_site, site) -> None:
    """The started response: its level written as a response level, plan, county, tasks done
    and overdue as counted in the database; opened, each task with its assignee and state (the
    overdue ones flagged) and the timeline."""
    (flood,) = [r for r in active(site) if r["plan_id"] == "flood_control"]
    watched = open_console(open_site, "commander")
    page = watched.page
    card = page.locator(f'#response-list li.response[data-response-id="{flood["id"]}"]')
    expected = counted(site, flood["id"])
    assert int(expected["tasks-overdue"]) >= 1 and int(expected["tasks"]) >= 2
    assert shown(card, expected) == expected
    assert card.get_attribute("data-status") == "active"
    assert card.get_attribute("data-level") == str(flood["level"])
    badge = card.locator(".rbadge")
    assert badge.inner_text().strip() == f"{LEVEL[flood['level']]}级应急响应"
    text = card.inner_text()
    assert flood["plan_title_zh"] in text and "麻阳苗族自治县" in text
    assert f"逾期 {expected['tasks-overdue']}" in card.locator(".overdue-count").inner_text()
    # the detail: every task not cancelled, overdue exactly where SQL says
    card.locator("details.response-detail > summary").click()
    card.locator("li.task").first.wait_for()
    tasks = q(
        site,
        """SELECT id, status, person_name, status IN ('open', 'acknowledged') AND due_at < now()
                  AS overdue FROM response_task WHERE response_id = %s AND status <> 'cancelled'""",
        flood["id"],
    )
    rows = card.locator("li.task")
    assert rows.count() == len(tasks)
    for t in tasks:
        row = card.locator(f'li.task[data-task-id="{t["id"]}"]')
        assert row.get_attribute("data-overdue") == str(t["overdue"]).lower()
        assert row.get_attribute("data-status") == t["status"]
        if t["person_name"]:
            assert t["person_name"] in row.inner_text()
        assert ("逾期" in row.locator(".task-state").inner_text()) is t["overdue"]
        assert row.locator("button[data-action=done]").count() == 1  # a commander may `task`
    assert any(not t["overdue"] for t in tasks), "the fixture's task on time"
    events = q(site, "SELECT kind FROM response_event WHERE response_id = %s", flood["id"])
    assert card.locator("ol.timeline li").count() == len(events)
    assert card.locator('ol.timeline li[data-kind="started"]').count() == 1
    watched.shot("console-responses")
    assert watched.errors == []


def test_viewer_sees_the_responses_without_buttons(open_site, site) -> None:
    watched = open_console(open_site, "viewer")
    page = watched.page
    pending = q(
        site,
        "SELECT id, response_id FROM response_proposal WHERE status = 'pending' ORDER BY id",
    )
    assert pending, "the storm left a proposal waiting"
    for p in pending:
        page.locator(f'.proposal[data-proposal-id="{p["id"]}"]').wait_for()
    card = page.locator("#response-list li.response[data-status=active]").first
    card.locator("details.response-detail > summary").click()
    card.locator("li.task").first.wait_for()
    assert page.locator("#responses button[data-action]").count() == 0
    assert watched.errors == []


def test_duty_report_downloads_from_the_console(open_site, site) -> None:
    """值班日报 at the foot of the review pane: today in Beijing by default; the PDF downloads
    (a PDF by its magic bytes, named for the day) and the web version opens with the day's
    warnings counted as SQL counts them. Signed out, there is no such control."""
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    watched = open_console(open_site, "viewer")
    page = watched.page
    section = page.locator("#duty-report")
    assert section.is_visible()
    assert page.locator("#duty-date").input_value() == today
    with page.expect_download() as info:
        page.locator("#duty-pdf").click()
    download = info.value
    assert download.suggested_filename == f"值班日报-{today}.pdf"
    assert Path(download.path()).read_bytes()[:5] == b"%PDF-"
    with page.context.expect_page() as popup:
        page.locator("#duty-html").click()
    report = popup.value
    report.wait_for_load_state()
    y, m, d = (int(part) for part in today.split("-"))
    assert report.title().endswith(f"值班日报 {today}")
    assert f"{y}年{m}月{d}日" in report.locator("body").inner_text()
    section.screenshot(path=str(ARTIFACTS / "console-duty-report.png"))
    assert watched.errors == []
    public = open_site("/")
    wait_ready(public)
    assert public.page.locator("#duty-report").is_hidden()


def test_commander_accepts_a_proposal(open_site, site) -> None:
    """采纳 through the dialog with a reason: the response is started in the database, by the
    commander, with the reason on its timeline, and the card says so."""
    (p,) = q(
        site,
        """SELECT p.id, p.response_id, p.level FROM response_proposal p
           JOIN response r ON r.id = p.response_id
           WHERE p.status = 'pending' AND p.kind = 'start' ORDER BY p.id LIMIT 1""",
    )
    watched = open_console(open_site, "commander")
    page = watched.page
    proposal = page.locator(f'.proposal[data-proposal-id="{p["id"]}"]')
    assert f"启动{LEVEL[p['level']]}级应急响应" in proposal.inner_text()
    proposal.locator("button[data-action=accept]").click()
    dialog = page.locator("#response-dialog")
    dialog.wait_for(state="visible")
    watched.shot("console-response-accept-dialog")
    # no reason, no action
    page.locator("#response-submit").click()
    assert page.locator("#response-error").inner_text().strip() != ""
    assert q(site, "SELECT status FROM response WHERE id = %s", p["response_id"])[0]["status"] == (
        "proposed"
    )
    page.locator("#response-dialog textarea[name=reason]").fill("网页测试：会商后启动")
    page.locator("#response-submit").click()
    dialog.wait_for(state="hidden")
    card = page.locator(f'li.response[data-response-id="{p["response_id"]}"]')
    page.wait_for_selector(
        f'li.response[data-response-id="{p["response_id"]}"][data-status=active]'
    )
    (row,) = q(
        site, "SELECT status, level, started_by FROM response WHERE id = %s", p["response_id"]
    )
    assert row == {"status": "active", "level": p["level"], "started_by": "web-commander"}
    (started,) = q(
        site,
        "SELECT actor, reason FROM response_event WHERE response_id = %s AND kind = 'started'",
        p["response_id"],
    )
    assert started == {"actor": "web-commander", "reason": "网页测试：会商后启动"}
    assert shown(card, counted(site, p["response_id"])) == counted(site, p["response_id"])
    assert card.locator(".proposal").count() == 0
    assert watched.errors == []


def test_duty_officer_marks_a_task_done(open_site, site) -> None:
    """A reporter (duty staff, `task` but not `respond`): no commander buttons; 完成 with a note
    marks the task done in the database and the overdue count falls."""
    (flood,) = [r for r in active(site) if r["plan_id"] == "flood_control"]
    (task,) = q(
        site,
        """SELECT id FROM response_task WHERE response_id = %s AND status = 'open'
           AND due_at < now() ORDER BY id LIMIT 1""",
        flood["id"],
    )
    before = counted(site, flood["id"])
    watched = open_console(open_site, "reporter")
    page = watched.page
    card = page.locator(f'li.response[data-response-id="{flood["id"]}"]')
    for action in ("accept", "dismiss", "raise", "lower", "end"):
        assert page.locator(f"#responses button[data-action={action}]").count() == 0, action
    card.locator("details.response-detail > summary").click()
    row = card.locator(f'li.task[data-task-id="{task["id"]}"]')
    row.wait_for()
    assert row.get_attribute("data-overdue") == "true"
    row.locator("button[data-action=done]").click()
    page.locator("#response-dialog").wait_for(state="visible")
    page.locator("#response-dialog textarea[name=reason]").fill("群众已全部转移到安置点")
    page.locator("#response-submit").click()
    page.wait_for_selector(f'li.task[data-task-id="{task["id"]}"][data-status=done]')
    (done,) = q(site, "SELECT status, done_by, note FROM response_task WHERE id = %s", task["id"])
    assert done == {"status": "done", "done_by": "web-reporter", "note": "群众已全部转移到安置点"}
    after = counted(site, flood["id"])
    assert int(after["tasks-overdue"]) == int(before["tasks-overdue"]) - 1
    page.wait_for_selector(
        f'li.response[data-response-id="{flood["id"]}"]'
        f'[data-tasks-overdue="{after["tasks-overdue"]}"]'
    )
    assert shown(card, after) == after
    watched.shot("console-response-task-done")
    assert watched.errors == []


def wall_expected(site: WebService) -> dict[str, str]:
    rows = active(site)
    sums = {"tasks": 0, "tasks-done": 0, "tasks-overdue": 0}
    for r in rows:
        c = counted(site, r["id"])
        for k in sums:
            sums[k] += int(c[k])
    return {"level": str(min(r["level"] for r in rows)), "responses": str(len(rows))} | {
        k: str(v) for k, v in sums.items()
    }


def test_wall_shows_the_highest_level_and_the_overdue_tasks(open_site, site) -> None:
    """The strip: the highest level in progress (its colour), its plan and county, and the
    overdue tasks of all responses as counted in SQL; a task finished elsewhere lowers the
    count within seconds."""
    expected = wall_expected(site)
    assert int(expected["responses"]) >= 2 and int(expected["tasks-overdue"]) >= 1
    watched = open_site("/wall", role="commander", viewport=(1920, 1080))
    wait_ready(watched)
    page = watched.page
    box = page.locator("#response-box")
    box.wait_for(state="visible")
    assert shown(box, expected) == expected
    top = active(site)[0]
    main = box.locator(".resp-main").inner_text()
    assert f"{LEVEL[top['level']]}级应急响应" in main and "麻阳苗族自治县" in main
    assert "防汛" in main
    overdue = box.locator(".overdue")
    assert overdue.get_attribute("data-count") == expected["tasks-overdue"]
    assert f"逾期 {expected['tasks-overdue']} 项" in overdue.inner_text()
    assert overdue.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(213, 0, 0)"
    colours = {
        1: "rgb(224, 0, 0)",
        2: "rgb(255, 127, 0)",
        3: "rgb(242, 197, 0)",
        4: "rgb(31, 95, 214)",
    }
    level = box.locator(".resp-main .level")
    assert level.evaluate("e => getComputedStyle(e).backgroundColor") == colours[top["level"]]
    watched.shot("wall-response-1920x1080")
    # the strip sits in the side column above the counts, clear of them
    strip, counts = box.bounding_box(), page.locator(".counts-box").bounding_box()
    side = page.locator(".wall-side").bounding_box()
    assert strip["y"] + strip["height"] <= counts["y"]
    assert strip["x"] >= side["x"] and strip["x"] + strip["width"] <= side["x"] + side["width"]
    page.wait_for_selector('#stream-state[data-state="connected"]')
    (task,) = q(
        site,
        """SELECT t.id, t.response_id FROM response_task t JOIN response r ON r.id = t.response_id
           WHERE r.status = 'active' AND t.status IN ('open', 'acknowledged')
           AND t.due_at < now() ORDER BY t.id LIMIT 1""",
    )
    r = api(site, "POST", f"/api/responses/{task['response_id']}/tasks/{task['id']}", "reporter",
            json={"action": "done", "note": "大屏测试"})  # fmt: skip
    assert r.status_code == 200, r.text
    after = wall_expected(site)
    page.wait_for_selector(f'#response-box[data-tasks-overdue="{after["tasks-overdue"]}"]',
                           timeout=5_000)  # fmt: skip
    assert shown(box, after) == after
    # the public wall has no responses
    public = open_site("/wall")
    wait_ready(public)
    assert public.page.locator("#response-box").is_hidden()
    assert watched.errors == [] and public.errors == []


def test_no_panel_once_every_response_has_ended(open_site, site) -> None:
    """Ended by the commander (API), the wall's strip goes away live and the console says no
    response is in progress."""
    wall = open_site("/wall", role="commander")
    wait_ready(wall)
    wall.page.locator("#response-box").wait_for(state="visible")
    wall.page.wait_for_selector('#stream-state[data-state="connected"]')
    for r in active(site):
        ended = api(site, "POST", f"/api/responses/{r['id']}/end", "commander",
                    json={"reason": "雨停，险情解除"})  # fmt: skip
        assert ended.status_code == 200, ended.text
    assert active(site) == []
    wall.page.locator("#response-box").wait_for(state="hidden", timeout=5_000)
    assert wall.page.locator("#response-box").get_attribute("data-level") is None
    for p in q(site, "SELECT id, response_id FROM response_proposal WHERE status = 'pending'"):
        path = f"/api/responses/{p['response_id']}/proposals/{p['id']}/dismiss"
        dismissed = api(site, "POST", path, "commander", json={"reason": "不需要"})
        assert dismissed.status_code == 200, dismissed.text
    console = open_site("/", role="commander")
    wait_ready(console)
    page = console.page
    page.wait_for_function(
        "() => document.querySelector('#responses-status')?.textContent.length > 0"
    )
    assert page.locator("#response-list li.response").count() == 0
    assert page.locator("#responses-status").inner_text().strip() == "当前没有启动的应急响应"
    assert wall.errors == [] and console.errors == []


def test_county_user_gets_no_buttons_on_the_citys_warning(open_site, site) -> None:
    """A warning issued by the city over the county's villages: the county's forecaster sees it
    without 修改 / 调整级别 (the API would refuse them with 403); its own candidates keep them."""
    villages = [r["code"] for r in q(site, "SELECT code FROM village ORDER BY code LIMIT 2")]
    body = {
        "hazard": "rainstorm", "colour": "yellow", "village_codes": villages,
        "event_zh": "暴雨", "headline_zh": "市局暴雨预警（测试）", "description_zh": "测试。",
        "instruction_zh": "注意防范。", "reason": "test", "issue": True,
    }  # fmt: skip
    made = api(site, "POST", "/api/warnings", "city", json=body)
    assert made.status_code == 201, made.text
    wid = made.json()["warning_id"]
    listed = api(site, "GET", "/api/warnings?status=issued&limit=500", "county").json()
    props = next(f["properties"] for f in listed["features"] if f["properties"]["id"] == wid)
    assert props["issuer_code"] == "431200"  # the city bureau issued it
    watched = open_site("/", role="county")
    wait_ready(watched)
    page = watched.page
    card = page.locator(f'#in-force [data-warning-id="{wid}"]')
    card.wait_for()
    assert card.locator("button[data-action]").count() == 0
    assert api(site, "POST", f"/api/warnings/{wid}/edit", "county",
               json={"reason": "x", "headline_zh": "改"}).status_code == 403  # fmt: skip
    own = page.locator("#review-queue .candidate").first
    assert own.locator("button[data-action=edit]").count() == 1
    assert watched.errors == []
