"""The forecaster console (``/``) in a real browser over the live demo (conftest.py).

Expected values come from the API (httpx against the same server), never from the page's own
code: the candidates a role sees, the issued warnings on the map, a village's population.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import httpx
from PIL import Image

from tests.web.conftest import REVIEW, rendered_layers, wait_ready

I18N_KEY = re.compile(
    r"\b(?:queue|layers?|cand|impact|action|profile|rain|station|tab|chart|var|popup|edit)"
    r"\.[a-z_]+\b"
)


def _api(web_service, path: str, role: str | None = "forecaster", **kw) -> httpx.Response:
    headers = {"Authorization": f"Bearer {web_service.tokens[role]}"} if role else {}
    return httpx.get(web_service.base_url + path, headers=headers, timeout=30, **kw)


def _awaiting_review(web_service, role: str) -> set[int]:
    """Ids the API says await review: candidates and issued warnings with a pending draft."""
    page = _api(web_service, "/api/warnings?status=candidate,issued&limit=500", role).json()
    return {
        f["properties"]["id"]
        for f in page["features"]
        if f["properties"]["status"] == "candidate" or f["properties"]["pending_review"]
    }


def _shown_ids(page, selector: str) -> set[int]:
    return {
        int(x)
        for x in page.eval_on_selector_all(selector, "els => els.map(e => e.dataset.warningId)")
    }


def _not_blank(path) -> None:
    """A screenshot with a drawn map has many colours; a blank page has a handful."""
    image = Image.open(io.BytesIO(path.read_bytes())).convert("RGB").resize((360, 225))
    colours = image.getcolors(image.width * image.height)
    assert len(colours) > 200, f"{path} looks blank"


def test_console_loads_without_errors(open_page):
    watched = open_page("/", role="forecaster", viewport=REVIEW)
    wait_ready(watched)
    page = watched.page
    _not_blank(watched.shot("console-forecaster"))
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    assert page.locator("#layers-title").inner_text() == "图层"
    assert watched.errors == []
    assert watched.foreign == []


def test_map_draws_risk_warnings_and_rain(open_page, web_service):
    watched = open_page("/", role="forecaster")
    wait_ready(watched)
    page = watched.page
    layers = rendered_layers(watched)
    assert {"village-risk", "warnings-fill", "warnings-line"} <= layers
    # the warnings drawn are the API's issued ones
    issued = {
        f["properties"]["id"]
        for f in _api(web_service, "/api/warnings?limit=500", None).json()["features"]
    }
    drawn = set(
        page.evaluate(
            "() => window.riskmapMap.queryRenderedFeatures({layers: ['warnings-fill']})"
            ".map(f => f.properties.id)"
        )
    )
    assert drawn and drawn <= issued
    # rain is a raster layer: MapLibre's queryRenderedFeatures never lists raster layers, so
    # check the layer itself, its loaded tiles, and that it draws a period the API lists
    rain = page.evaluate(
        r"""() => {
            const m = window.riskmapMap;
            const l = m.getLayer('rain');
            const tile = /\/tiles\/rain\/\d+\/\d+\/\d+\.png\?/;
            const tiles = performance.getEntriesByType('resource').filter(e => tile.test(e.name));
            return l && {
                type: l.type,
                visibility: m.getLayoutProperty('rain', 'visibility') ?? 'visible',
                loaded: m.isSourceLoaded('rain'),
                tiles: tiles.length,
            };
        }"""
    )
    assert rain == {**rain, "type": "raster", "visibility": "visible", "loaded": True}
    assert rain["tiles"] > 0
    shown_end = page.locator("#rain-time").get_attribute("data-valid-end")
    periods = _api(web_service, "/tiles/rain/periods.json?product=qpe").json()
    ends = {datetime.fromisoformat(p["valid_end"]) for p in periods}
    shown = datetime.fromisoformat(shown_end)
    assert shown in ends
    assert shown <= datetime.now(UTC)  # not a grid stored for a later hour
    assert re.fullmatch(r"\d\d-\d\d \d\d:\d\d–\d\d:\d\d", page.locator("#rain-time").inner_text())


def test_rain_slider_changes_the_period(open_page):
    watched = open_page("/", role="forecaster")
    wait_ready(watched)
    page = watched.page
    slider = page.locator("#rain-slider")
    before = page.locator("#rain-time").inner_text()
    assert int(slider.get_attribute("max")) >= 1
    slider.focus()
    page.keyboard.press("Home")
    page.wait_for_function(f"() => document.querySelector('#rain-time').textContent !== {before!r}")
    page.wait_for_function(
        "() => window.riskmapMap.getSource('rain').tiles[0].includes("
        "encodeURIComponent(document.querySelector('#rain-time').dataset.validEnd))"
    )
    assert watched.errors == []


def test_layer_toggles_and_hazard_radios(open_page):
    watched = open_page("/", role="forecaster")
    wait_ready(watched)
    page = watched.page
    for value in (
        "village-risk",
        "rain",
        "stations",
        "hazard-points",
        "shelters",
        "warehouses",
        "teams",
        "warnings-fill",
    ):
        assert page.locator(f"#layers input[type=checkbox][value={value}]").count() == 1
    page.locator("#layers input[type=checkbox][value=village-risk]").uncheck()
    assert (
        page.evaluate("window.riskmapMap.getLayoutProperty('village-risk', 'visibility')") == "none"
    )
    page.locator("#layers input[type=checkbox][value=village-risk]").check()
    page.locator("#layers input[name=hazard][value=geohazard]").check()
    paint = page.evaluate(
        "JSON.stringify(window.riskmapMap.getPaintProperty('village-risk', 'fill-color'))"
    )
    assert "geohazard" in paint


def test_forecaster_issues_a_candidate(open_page, web_service):
    waiting = _api(web_service, "/api/warnings?status=candidate&limit=500").json()["features"]
    assert waiting, "the live demo has candidates"
    target = min(waiting, key=lambda f: (f["properties"]["village_count"], f["properties"]["id"]))
    wid = target["properties"]["id"]
    watched = open_page("/", role="forecaster")
    wait_ready(watched)
    page = watched.page
    card = page.locator(f"#review-queue .candidate[data-warning-id='{wid}']")
    assert card.count() == 1
    assert card.locator("button[data-action=cancel]").count() == 0  # forecasters may not cancel
    card.locator("button[data-action=issue]").click()
    dialog = page.locator("#action-dialog")
    dialog.wait_for(state="visible")
    page.locator("#action-dialog textarea[name=reason]").fill("网页测试：核实雨情后签发")
    page.locator("#action-submit").click()
    dialog.wait_for(state="hidden")
    detail = _api(web_service, f"/api/warnings/{wid}").json()
    assert detail["properties"]["status"] == "issued"
    assert detail["audit"][-1]["actor"] == "web-forecaster"
    # the queue refreshes: the warning leaves it and joins the ones in force
    page.wait_for_selector(f"#review-queue .candidate[data-warning-id='{wid}']", state="detached")
    page.wait_for_selector(f"#in-force [data-warning-id='{wid}']")
    # and the warnings layer redraws with it
    page.wait_for_function(
        f"() => window.riskmapMap.querySourceFeatures('warnings', {{sourceLayer: 'warnings'}})"
        f".some(f => f.properties.id === {wid})",
        timeout=20000,
    )
    assert watched.errors == []


def test_forbidden_action_shows_the_api_403(open_page, web_service):
    """A page that believes it may review (stale permissions) shows the API's 403 clearly."""
    watched = open_page("/", role="reporter")
    page = watched.page
    page.evaluate(
        "() => { const u = JSON.parse(localStorage.getItem('riskmap.user'));"
        " u.permissions = [...u.permissions, 'review'];"
        " localStorage.setItem('riskmap.user', JSON.stringify(u)); }"
    )
    page.reload()
    wait_ready(watched)
    wid = sorted(_awaiting_review(web_service, "reporter"))[0]
    page.locator(f".candidate[data-warning-id='{wid}'] button[data-action=reject]").click()
    page.locator("#action-dialog textarea[name=reason]").fill("不应被允许")
    page.locator("#action-submit").click()
    error = page.locator("#action-error")
    page.wait_for_function(
        "() => document.querySelector('#action-error').textContent.includes('403')"
    )
    assert error.get_attribute("role") == "alert"
    assert page.locator("#action-dialog").is_visible()
    page.keyboard.press("Escape")
    page.locator("#action-dialog").wait_for(state="hidden")
    assert _api(web_service, f"/api/warnings/{wid}").json()["properties"]["status"] == "candidate"


def test_viewer_sees_the_queue_read_only(open_page, web_service):
    watched = open_page("/", role="viewer")
    wait_ready(watched)
    page = watched.page
    assert _shown_ids(page, "#review-queue .candidate") == _awaiting_review(web_service, "viewer")
    assert page.locator("button[data-action]").count() == 0
    assert watched.errors == []


def test_public_visitor_sees_issued_warnings_and_no_queue(open_page, web_service):
    watched = open_page("/")
    wait_ready(watched)
    page = watched.page
    assert page.locator("#review-queue").count() == 0
    assert page.locator(".candidate").count() == 0
    assert page.locator("button[data-action]").count() == 0
    issued = {
        f["properties"]["id"]
        for f in _api(web_service, "/api/warnings?limit=500", None).json()["features"]
    }
    assert _shown_ids(page, "#in-force [data-warning-id]") == issued
    layers = rendered_layers(watched)
    assert "warnings-fill" in layers
    assert "village-risk" not in layers  # risk layers need a token
    _not_blank(watched.shot("console-public"))
    assert watched.errors == []


def _click_village(page, web_service) -> dict:
    """Click a village of the map where nothing else lies on top; its profile from the API."""
    for value in ("stations", "shelters", "sites"):
        page.locator(f"#layers input[type=checkbox][value={value}]").uncheck()
    codes = page.evaluate(
        "() => [...new Set(window.riskmapMap.queryRenderedFeatures({layers: ['village-risk']})"
        ".map(f => f.properties.code))]"
    )
    for code in sorted(codes)[:40]:
        profile = _api(web_service, f"/api/villages/{code}").json()
        v = profile["village"]
        x, y = page.evaluate(
            f"() => {{ const p = window.riskmapMap.project([{v['lon']}, {v['lat']}]);"
            " const r = window.riskmapMap.getCanvas().getBoundingClientRect();"
            " return [p.x + r.left, p.y + r.top]; }"
        )
        on_map = page.evaluate(
            f"() => document.elementFromPoint({x}, {y}) === window.riskmapMap.getCanvas()"
        )
        here = page.evaluate(
            f"() => window.riskmapMap.queryRenderedFeatures([{x} - window.riskmapMap.getCanvas()"
            f".getBoundingClientRect().left, {y} - window.riskmapMap.getCanvas()"
            ".getBoundingClientRect().top], {layers: ['village-risk']}).map(f => f.properties.code)"
        )
        if on_map and here == [code]:
            page.mouse.click(x, y)
            return profile
    raise AssertionError("no village could be clicked")


def test_village_profile_opens_on_click(open_page, web_service):
    watched = open_page("/", role="forecaster")
    wait_ready(watched)
    page = watched.page
    profile = _click_village(page, web_service)
    panel = page.locator("#village-profile")
    panel.wait_for(state="visible")
    page.wait_for_selector("#village-profile [data-field=population]")
    assert panel.locator("h2").inner_text().startswith(profile["village"]["name"])
    population = page.locator("#village-profile [data-field=population]").inner_text()
    assert int(population.replace(",", "")) == profile["village"]["population"]
    page.wait_for_selector("#village-rain-chart canvas")
    assert page.locator("#village-profile table").count() >= 1
    watched.shot("console-village-profile")
    page.keyboard.press("Escape")
    panel.wait_for(state="hidden")
    assert watched.errors == []


def test_candidate_details_show_numbers_chart_and_impact(open_page, web_service):
    waiting = _api(web_service, "/api/warnings?status=candidate&hazard=flash_flood&limit=50").json()
    # the live demo leaves flash-flood candidates for review (the storm's 准备转移 ones)
    assert waiting["features"], "the live demo has no flash-flood candidate to open"
    wid = waiting["features"][0]["properties"]["id"]
    detail = _api(web_service, f"/api/warnings/{wid}").json()
    watched = open_page("/", role="forecaster")
    wait_ready(watched)
    page = watched.page
    card = page.locator(f".candidate[data-warning-id='{wid}']")
    card.locator("summary").first.click()
    page.wait_for_selector(f".candidate[data-warning-id='{wid}'] .chart canvas")
    text = card.inner_text()
    assert detail["properties"]["rule_id"] in text
    people = detail["impact"]["totals"]["population"]
    assert f"{people:,}" in text
    assert f"{detail['impact']['evacuation']['free_within_reach']:,}" in text
    watched.shot("console-candidate")
    assert watched.errors == []


def test_english_switch(open_page, web_service):
    watched = open_page("/", role="forecaster")
    wait_ready(watched)
    page = watched.page
    page.locator("#lang-switch").click()
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.locator("#layers-title").inner_text() == "Layers"
    assert page.locator("#queue-title").inner_text() == "Warning review queue"
    first = page.locator("#review-queue .candidate").first
    wid = int(first.get_attribute("data-warning-id"))
    headline = _api(web_service, f"/api/warnings/{wid}").json()["versions"][-1]["headline_en"]
    assert first.locator("h3").inner_text() == headline
    body = page.locator("body").inner_text()
    assert not I18N_KEY.search(body), I18N_KEY.search(body)
    watched.shot("console-english")
    page.locator("#lang-switch").click()  # back to Chinese for the next tests
    assert page.evaluate("document.documentElement.lang") == "zh-CN"


def test_phone_layout(open_page):
    watched = open_page("/", role="forecaster", viewport=(390, 844))
    wait_ready(watched)
    page = watched.page
    width = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert width[0] <= width[1], "horizontal scroll on a phone"
    assert page.locator("#review-queue").is_visible()
    assert not page.locator("#layers").is_visible()
    page.locator("#tab-layers").click()
    assert page.locator("#layers").is_visible()
    assert not page.locator("#review-queue").is_visible()
    box = page.locator("#layers").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    _not_blank(watched.shot("console-phone"))
    page.locator("#tab-queue").click()
    watched.shot("console-phone-queue")
    assert watched.errors == []


def test_unreachable_api_is_said(open_page):
    watched = open_page("/", role="forecaster")
    wait_ready(watched)
    page = watched.page
    page.route("**/api/**", lambda route: route.abort())
    page.route("**/healthz", lambda route: route.abort())
    page.reload()
    page.locator("#net-banner").wait_for(state="visible")
    page.wait_for_selector("#queue-status .error")
    watched.shot("console-unreachable")
