"""The city level on the pages (issue 12): the wall's table of counties and the console's area.

Two databases from the same generated data, a dozen villages a county (as
tests/api/test_areas.py): 麻阳 (431226, "A") alone, and 麻阳 with 辰溪 (431223, "B"), both of
怀化市 (431200). On the second, warnings (a county's own, and the city's over both), a candidate,
field reports and delivery outcomes (outbox rows marked as the dispatcher would) are made before
the pages open. The figures the wall must show per county are counted here from the raw rows
(warnings, villages, outbox, field reports), never asked of ``/api/summary``.

Page contract: ``table.county-summary`` (only with more than one county), ``tbody
tr[data-county]`` with ``data-red|orange|yellow|blue``, ``data-villages-to-move``,
``data-people-to-move``, ``data-field-reports``, ``data-villages-targeted|reached|acknowledged``
(absent for the public), ``tfoot tr.total`` with the same; a click on a row fits the map to the
county (``data-focused``). The console's header: ``#user-area[data-area]``.
"""

from __future__ import annotations

import shutil
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import psycopg
import pytest
from psycopg import sql

from riskmap.api.passwords import set_password
from riskmap.api.users import add_user, new_token
from riskmap.geo.db.migrate import migrate
from riskmap.geo.settings import Settings
from tests.conftest import BUNDLED_BOUNDARIES, clone_database, drop_database, make_scratch_dir
from tests.web.conftest import PASSWORD, WebService, page_opener, wait_ready

A, B, CITY = "431226", "431223", "431200"
NAMES = {A: "麻阳苗族自治县", B: "辰溪县"}
COLOURS = ("red", "orange", "yellow", "blue")
# token key: (role, area); the user is web-<key>
USERS = {"city": ("commander", CITY), "county-a": ("forecaster", A), "all": ("admin", None)}
NUMBERS = ("villages-to-move", "people-to-move", "field-reports", "villages-targeted",
           "villages-reached", "villages-acknowledged")  # fmt: skip


@dataclass
class City:
    one: WebService  # county A alone
    two: WebService  # counties A and B
    villages: dict[str, list[str]]


def _new_database(cluster) -> str:
    name = f"t_city_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(cluster.url_for("postgres"), autocommit=True) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = cluster.url_for(name)
    migrate(url)
    return url


def _load_county(url: str, code: str, seed: int, scratch) -> None:
    from riskmap.geo.demo.county import generate
    from riskmap.geo.demo.load import load

    demo = generate(
        code, villages=12, seed=seed, bundled_path=BUNDLED_BOUNDARIES,
        out_dir=scratch / code, roster_start=datetime(2026, 7, 1, tzinfo=UTC),
    )  # fmt: skip
    with psycopg.connect(url) as conn:
        load(conn, demo)
        conn.commit()


def build_databases(cluster, scratch) -> tuple[str, str]:
    """(one, two): a database with county A, and a copy of it with county B loaded too (the
    generated files go to ``scratch``)."""
    one = _new_database(cluster)
    _load_county(one, A, 7, scratch)
    two = clone_database(cluster, one, prefix="t_city2")
    _load_county(two, B, 8, scratch)
    return one, two


def serve(url: str, data_dir) -> WebService:
    """A server over ``url`` with the users of ``USERS`` (tokens and the password)."""
    service = WebService(
        db_url=url, settings=Settings(data_dir=data_dir, write_rate_limit="1000/minute")
    )
    with psycopg.connect(url) as conn:
        for key, (role, area) in USERS.items():
            add_user(conn, f"web-{key}", role, display_name=f"城市测试{key}", area=area)
            service.tokens[key] = new_token(conn, f"web-{key}", label="web tests")
            service.roles[key] = role
            set_password(conn, f"web-{key}", PASSWORD)
        conn.commit()
    service.start()
    return service


def _call(service: WebService, method: str, path: str, key: str | None, **kw) -> httpx.Response:
    headers = {"Authorization": f"Bearer {service.tokens[key]}"} if key else {}
    return httpx.request(method, service.base_url + path, headers=headers, timeout=30, **kw)


def warn(service: WebService, key: str, codes: list[str], issue: bool = True, **kw) -> int:
    """A manual warning over ``codes`` by user ``key`` (issued unless ``issue`` is false)."""
    body = {
        "hazard": kw.pop("hazard", "rainstorm"), "colour": kw.pop("colour", "yellow"),
        "village_codes": codes, "event_zh": "暴雨", "headline_zh": "暴雨预警",
        "description_zh": "城市大屏测试。", "instruction_zh": "注意防范。", "reason": "test",
        "issue": issue, **kw,
    }  # fmt: skip
    r = _call(service, "POST", "/api/warnings", key, json=body)
    assert r.status_code == 201, r.text
    return r.json()["warning_id"]


def make_situation(service: WebService, villages: dict[str, list[str]]) -> None:
    """A's own flash-flood warning asking to prepare to move, B's orange one, a candidate in B,
    the city's red warning over both with its loudspeakers partly reached, a field report in
    each county (one of them found false)."""
    va, vb = villages[A], villages[B]
    warn(service, "city", va[:3], hazard="flash_flood", action="prepare_evacuation")
    warn(service, "city", vb[:2], colour="orange")
    warn(service, "city", vb[2:4], issue=False)
    city = warn(
        service, "city", [va[5], va[6], vb[5]], colour="red", hazard="flash_flood",
        action="evacuate_now",
    )  # fmt: skip
    with psycopg.connect(service.db_url) as conn:
        # as the dispatcher would: the first loudspeaker of each village played (acked), the
        # next took it (sent), the rest wait
        conn.execute(
            """UPDATE outbox o SET status = CASE n.k WHEN 1 THEN 'acked' ELSE 'sent' END
               FROM (SELECT id, row_number() OVER (PARTITION BY payload ->> 'village_code'
                                                   ORDER BY id) AS k
                     FROM outbox WHERE warning_id = %s AND channel = 'broadcast') n
               WHERE o.id = n.id AND (n.k = 1 OR n.k = 2 AND o.payload ->> 'village_code' = %s)""",
            [city, vb[5]],
        )
        points = {
            code: conn.execute(
                "SELECT ST_X(label_point), ST_Y(label_point) FROM village WHERE code = %s", [code]
            ).fetchone()
            for code in (va[0], vb[0], vb[1])
        }
        conn.commit()
    reports = []
    for lon, lat in points.values():
        report = {"kind": "flood", "lon": lon, "lat": lat, "text": "水漫进村",
                  "observed_at": datetime.now(UTC).isoformat()}  # fmt: skip
        r = _call(service, "POST", "/api/reports", "all", json=report)
        assert r.status_code in (200, 201), r.text
        reports.append(r.json()["id"])
    verify = f"/api/reports/{reports[-1]}/verify"
    r = _call(service, "POST", verify, "all", json={"status": "false"})
    assert r.status_code == 200, r.text


def expected_figures(url: str) -> dict[str, dict[str, int]]:
    """Per county code: what its row must say, counted in Python from the raw rows."""
    with psycopg.connect(url) as conn:
        active = conn.execute(
            """SELECT w.id, v.version, v.colour, v.action, w.hazard, v.village_codes
               FROM warning w
               JOIN warning_version v ON v.warning_id = w.id AND v.version = w.published_version
               WHERE w.status = 'issued' AND w.expires_at > now()"""
        ).fetchall()
        people = dict(
            conn.execute(
                "SELECT code, least(population, coalesce(danger_zone_population, population))"
                " FROM village"
            ).fetchall()
        )
        outbox = conn.execute(
            """SELECT warning_id, version, channel, status, payload FROM outbox
               WHERE channel IN ('broadcast', 'sms') AND NOT payload ? 'left_area'"""
        ).fetchall()
        versions = {
            (w, v): codes
            for w, v, codes in conn.execute(
                "SELECT warning_id, version, village_codes FROM warning_version"
            ).fetchall()
        }
        reports = conn.execute(
            """SELECT village_code FROM field_report
               WHERE status <> 'false' AND observed_at > now() - interval '24 hours'"""
        ).fetchall()
    assert all(a[4] == "flash_flood" for a in active if a[3]), "only floods ask to move here"
    rows: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    moving: set[str] = set()
    for _id, _version, colour, action, _hazard, codes in active:
        for county in {c[:6] for c in codes}:
            rows[county][colour] += 1
        if action:
            moving |= set(codes)
    for code in moving:
        rows[code[:6]]["villages-to-move"] += 1
        rows[code[:6]]["people-to-move"] += people[code]
    for (village,) in reports:
        rows[village[:6]]["field-reports"] += 1
    # delivery: each active warning's newest version with messages, each village once
    announced = {}
    for wid, version, *_ in outbox:
        if any(a[0] == wid for a in active):
            announced[wid] = max(version, announced.get(wid, 0))
    reach: dict[str, set[str]] = defaultdict(set)  # village → {"targeted", "reached", "acked"}
    for wid, version in announced.items():
        for code in versions[(wid, version)]:
            reach[code].add("targeted")
    for wid, version, channel, status, payload in outbox:
        if announced.get(wid) != version:
            continue
        codes = [payload["village_code"]] if channel == "broadcast" else payload["village_codes"]
        for code in codes:
            if code not in reach:
                continue
            if status in ("sent", "acked"):
                reach[code].add("reached")
            if status == "acked" and channel == "broadcast":
                reach[code].add("acked")
    for code, what in reach.items():
        rows[code[:6]]["villages-targeted"] += 1
        rows[code[:6]]["villages-reached"] += "reached" in what
        rows[code[:6]]["villages-acknowledged"] += "acked" in what
    return {county: {k: rows[county][k] for k in (*COLOURS, *NUMBERS)} for county in (A, B)}


@pytest.fixture(scope="module")
def city(pg_cluster, tmp_path_factory) -> Iterator[City]:
    scratch = make_scratch_dir("web-city-")
    one, two = build_databases(pg_cluster, scratch)
    with psycopg.connect(two) as conn:
        villages = {
            c: [r[0] for r in conn.execute(
                "SELECT code FROM village WHERE county_code = %s ORDER BY code", [c])]
            for c in (A, B)
        }  # fmt: skip
    services = City(
        one=serve(one, tmp_path_factory.mktemp("city-one")),
        two=serve(two, tmp_path_factory.mktemp("city-two")),
        villages=villages,
    )
    make_situation(services.two, villages)
    yield services
    for service in (services.one, services.two):
        service.stop()
        drop_database(pg_cluster, service.db_url)
    shutil.rmtree(scratch, ignore_errors=True)


@pytest.fixture
def open_two(browser, city: City, request):
    with page_opener(browser, city.two, request) as opener:
        yield opener


@pytest.fixture
def open_one(browser, city: City, request):
    with page_opener(browser, city.one, request) as opener:
        yield opener


def _errors(watched) -> list[str]:
    """Console errors and failed requests, less the rain legend's 404 (no rain grid in these
    databases: the console says so in its rain bar)."""
    failed = watched.page.evaluate(
        "() => performance.getEntriesByType('resource')"
        ".filter(e => e.responseStatus >= 400).map(e => `${e.responseStatus} ${e.name}`)"
    )
    failed = [f for f in failed if "/tiles/rain/legend.json" not in f]
    errors = [e for e in watched.errors if "status of 404" not in e]
    return errors + failed + watched.foreign


def _row(page, selector: str) -> dict[str, int]:
    """The figures a row carries (its data-* attributes)."""
    attrs = page.locator(selector).evaluate("e => ({...e.dataset})")
    return {k: int(attrs[_camel(k)]) for k in (*COLOURS, *NUMBERS) if _camel(k) in attrs}


def _camel(name: str) -> str:
    head, *rest = name.split("-")
    return head + "".join(p.title() for p in rest)


def test_wall_shows_a_row_per_county_with_the_counted_figures(open_two, city: City) -> None:
    """Signed in as the city: one row per county, figures as counted from the rows, the total
    row their sum; the names and the coloured badges are on screen, Chinese first."""
    expected = expected_figures(city.two.db_url)
    watched = open_two("/wall", role="city", viewport=(1920, 1080))
    wait_ready(watched)
    page = watched.page
    table = page.locator("table.county-summary")
    table.wait_for(state="visible")
    assert page.locator("table.county-summary tbody tr[data-county]").count() == 2
    for county in (A, B):
        row = f'table.county-summary tr[data-county="{county}"]'
        assert _row(page, row) == expected[county], county
        assert page.locator(row).locator("th").inner_text().strip() == NAMES[county]
    total = _row(page, "table.county-summary tfoot tr.total")
    assert total == {k: expected[A][k] + expected[B][k] for k in total}
    assert expected[A]["red"] == expected[B]["red"] == 1  # the city's warning in both
    assert expected[A]["villages-reached"] and expected[B]["villages-acknowledged"]
    head = page.locator("table.county-summary thead").inner_text()
    for word in ("县（市、区）", "红", "橙", "黄", "蓝", "需转移", "送达", "灾情"):
        assert word in head, word
    red = page.locator(f'table.county-summary tr[data-county="{A}"] .badge[data-colour="red"]')
    assert red.inner_text().strip() == "1"
    assert red.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(224, 0, 0)"
    watched.shot("wall-city-1920x1080")
    # the panel keeps clear of the side column and the screen's edges
    box = table.bounding_box()
    side = page.locator(".wall-side").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= side["x"]
    assert box["y"] + box["height"] <= 1080
    assert watched.errors == [] and watched.foreign == []


def test_wall_row_follows_a_new_warning_and_fits_its_county(open_two, city: City) -> None:
    """A warning issued while the wall is on shows in its county's row within seconds; a click
    on a row fits the map to that county, a second click goes back to the warnings."""
    watched = open_two("/wall", role="city", viewport=(1440, 900))
    wait_ready(watched)
    page = watched.page
    page.wait_for_selector('#stream-state[data-state="connected"]')
    row = f'table.county-summary tr[data-county="{B}"]'
    before = int(page.get_attribute(row, "data-blue"))
    warn(city.two, "city", city.villages[B][8:9], colour="blue")
    page.wait_for_selector(f'{row}[data-blue="{before + 1}"]', timeout=5_000)
    assert _row(page, row) == expected_figures(city.two.db_url)[B]
    with psycopg.connect(city.two.db_url) as conn:
        extent = {
            code: conn.execute(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT"
                " ST_Extent(geom) AS e FROM admin_unit WHERE level = 'township'"
                " AND code LIKE %s) q",
                [code + "%"],
            ).fetchone()
            for code in (A, B)
        }
    page.locator(f'table.county-summary tr[data-county="{A}"]').click()
    page.wait_for_selector(f'table.county-summary tr[data-county="{A}"][data-focused="true"]')
    page.wait_for_function("() => !window.riskmapMap.isMoving()")
    w, s, e, n = page.evaluate("() => window.riskmapMap.getBounds().toArray().flat()")
    a = extent[A]
    assert w <= a[0] and s <= a[1] and e >= a[2] and n >= a[3], "county A is all on the map"
    assert e < extent[B][2], "the map is fitted to A, not to both counties"
    watched.shot("wall-city-1440x900-focused")
    page.locator(f'table.county-summary tr[data-county="{A}"]').click()
    page.wait_for_selector("table.county-summary tr[data-focused]", state="detached")
    assert watched.errors == []


def test_public_wall_shows_the_warnings_only(open_two, city: City) -> None:
    """The public wall has the table too, with the published warnings and no internal figures
    (delivery, field reports)."""
    expected = expected_figures(city.two.db_url)
    watched = open_two("/wall")
    wait_ready(watched)
    page = watched.page
    page.locator("table.county-summary").wait_for(state="visible")
    for county in (A, B):
        shown = _row(page, f'table.county-summary tr[data-county="{county}"]')
        assert shown == {k: expected[county][k] for k in (*COLOURS, *NUMBERS[:2])}
    head = page.locator("table.county-summary thead").inner_text()
    assert "送达" not in head and "灾情" not in head
    assert watched.errors == []


def test_no_county_table_for_one_county(open_one, open_two) -> None:
    """With one county loaded, or a county user's wall over two, the wall is as before."""
    for watched in (open_one("/wall", role="all"), open_two("/wall", role="county-a")):
        wait_ready(watched)
        page = watched.page
        assert page.locator("table.county-summary").is_visible() is False
        assert page.locator("#county-summary").is_hidden()
        assert page.text_content("#region").strip() == NAMES[A]
        assert watched.errors == []
    watched.shot("wall-county-user")


@pytest.mark.parametrize(
    ("key", "shown"),
    [("city", f"怀化市 ({CITY})"), ("all", "全部区域")],
)
def test_console_shows_the_users_area(open_two, key: str, shown: str) -> None:
    """The header names the area the signed-in user answers for (from /api/me); a county
    user's is checked after signing in, below."""
    watched = open_two("/", role=key)
    wait_ready(watched)
    page = watched.page
    area = page.locator("#user-area")
    page.wait_for_function("() => document.querySelector('#user-area')?.dataset.area !== undefined")
    assert area.inner_text().strip() == f"责任区域：{shown}"
    assert area.get_attribute("data-area") == (USERS[key][1] or "")
    assert _errors(watched) == []


def test_console_shows_the_area_after_signing_in(open_two) -> None:
    """Signing in with the dialog (no stored user): the county user's area appears."""
    watched = open_two("/")
    wait_ready(watched)
    page = watched.page
    page.click("#sign-in")
    page.fill("#sign-in-name", "web-county-a")
    page.fill("#sign-in-password", PASSWORD)
    page.click("#sign-in-submit")
    page.wait_for_selector(f'#user-area[data-area="{A}"]')
    assert page.locator("#user-area").inner_text().strip() == f"责任区域：{NAMES[A]} ({A})"
    wait_ready(watched)
    watched.shot("console-county-area")
    assert _errors(watched) == []


def test_county_user_has_no_actions_on_warnings_it_may_not_change(open_two, city: City) -> None:
    """A county's forecaster sees the city's warning over both counties without 修改 / 调整级别
    (the API refuses them with 403). The city's warnings over the county's villages alone are
    checked too once the API gives their ``issuer_code`` (buttons only on the county's own)."""
    r = _call(city.two, "GET", "/api/warnings?status=candidate,issued&limit=500", "county-a")
    features = [f["properties"] for f in r.json()["features"]]
    watched = open_two("/", role="county-a")
    wait_ready(watched)
    page = watched.page
    page.wait_for_selector(f'#user-area[data-area="{A}"]')
    checked = {"spanning": 0, "own": 0}
    for w in features:
        card = page.locator(f'[data-warning-id="{w["id"]}"]')
        card.wait_for()
        buttons = card.locator("button[data-action]").count()
        if any(not c.startswith(A) for c in w["village_codes"]):
            assert buttons == 0, w["id"]
            edit = _call(city.two, "POST", f"/api/warnings/{w['id']}/edit", "county-a",
                         json={"reason": "x", "headline_zh": "改"})  # fmt: skip
            assert edit.status_code == 403
            checked["spanning"] += 1
        elif "issuer_code" in w:
            owned = w["issuer_code"] is None or w["issuer_code"].startswith(A)
            assert (buttons > 0) is owned, w["id"]
            checked["own"] += owned
    assert checked["spanning"] >= 1
    assert _errors(watched) == []
