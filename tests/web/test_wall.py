"""The command-centre wall map (``/wall``) in a real browser over the live demo (conftest.py).

Expected values come from the API (httpx against the same server), never from the page's own
code: the warnings in force by colour, the warning just issued, the field report just sent.

Page contract used here: map layers ``warnings-fill``/``warnings-line``; ``#counts
[data-colour] .count``; ``#ticker li[data-kind]`` newest first (``data-warning-id`` /
``data-report-id``); ``#last-update`` (class ``stale``); ``#stream-state[data-state]``
(connecting / connected / reconnecting); ``body[data-last-event-at]`` (ms epoch);
URL parameters ``region``, ``layers``, ``lang``, ``stale`` (seconds).
"""

from __future__ import annotations

import io
import re
import time
from collections import Counter
from datetime import UTC, datetime

import httpx
import pytest
from PIL import Image

from tests.web.conftest import Watched, canvas_colours, rendered_layers, wait_ready

COLOURS = ("red", "orange", "yellow", "blue")
WITHIN_S = 2.0
# reconnecting takes the client's backoff (1 s, then 3 s × failures, at most 15 s, ±25 %)
RECONNECT_TIMEOUT_MS = 40_000


def _api(web_service, method: str, path: str, role: str | None = None, **kw) -> httpx.Response:
    headers = {"Authorization": f"Bearer {web_service.tokens[role]}"} if role else {}
    return httpx.request(method, web_service.base_url + path, headers=headers, timeout=30, **kw)


def _in_force(web_service, region: str | None = None) -> dict[str, int]:
    """Warnings in force (issued, not expired) by colour, as the public list has them."""
    body = _api(web_service, "GET", "/api/warnings?status=issued&limit=500").json()
    assert body["numberMatched"] == body["numberReturned"], "more than one page: page through"
    counts = Counter(
        f["properties"]["colour"]
        for f in body["features"]
        if region is None or any(c.startswith(region) for c in f["properties"]["village_codes"])
    )
    return {c: counts.get(c, 0) for c in COLOURS}


def _shown_counts(page) -> dict[str, int]:
    return {
        c: int(page.text_content(f'#counts [data-colour="{c}"] .count').strip()) for c in COLOURS
    }


def _issue_a_candidate(web_service) -> int:
    """Issue the oldest candidate the API lists (as a forecaster); its id."""
    body = _api(web_service, "GET", "/api/warnings?status=candidate&limit=500", "forecaster")
    ids = sorted(f["properties"]["id"] for f in body.json()["features"])
    for wid in ids:
        r = _api(
            web_service,
            "POST",
            f"/api/warnings/{wid}/issue",
            "forecaster",
            json={"reason": "大屏测试：雨量站核实，签发"},
        )
        if r.status_code == 200:
            return wid
        assert r.status_code == 409, r.text  # another test issued or rejected it meanwhile
    raise AssertionError("the demo has no candidate left to issue")


def _clean(watched: Watched, allowed: str | None = None) -> None:
    errors = [e for e in watched.errors if not (allowed and re.search(allowed, e))]
    assert errors == [], errors
    assert watched.foreign == [], watched.foreign


def _not_blank(path) -> None:
    image = Image.open(io.BytesIO(path.read_bytes())).convert("RGB").resize((360, 203))
    assert len(image.getcolors(1 << 17) or ()) > 200, f"{path} looks blank"


def _wait_connected(page, timeout_ms: int = 15_000) -> None:
    page.wait_for_selector('#stream-state[data-state="connected"]', timeout=timeout_ms)


@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (3840, 2160), (1440, 900)])
def test_wall_loads_and_reads_across_a_room(open_page, width: int, height: int) -> None:
    """No errors, a drawn map with the warning areas, the clock and last update on screen, and
    text that grows with the screen (the 4K wall reads like the 1080p one, only larger)."""
    watched = open_page("/wall", role="viewer", viewport=(width, height))
    wait_ready(watched, timeout_ms=90_000)  # 8 million pixels in a software renderer
    page = watched.page
    _wait_connected(page)
    _not_blank(watched.shot(f"wall-{width}x{height}"))
    assert canvas_colours(watched) > 1
    assert {"warnings-fill", "warnings-line"} <= rendered_layers(watched)
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    assert re.fullmatch(r"\d\d:\d\d:\d\d", page.text_content("#clock").strip())
    assert re.fullmatch(r"\d\d:\d\d:\d\d", page.text_content("#last-update").strip())
    assert not page.locator("#last-update").evaluate("e => e.classList.contains('stale')")
    assert page.locator("header.topbar").count() == 0, "the wall has no header bar"
    # sizes follow the screen: the count digits are 5 % of the screen height or more
    digit = page.locator('#counts [data-colour="red"] .count').evaluate(
        "e => parseFloat(getComputedStyle(e).fontSize)"
    )
    assert digit >= 0.05 * height, (width, height, digit)
    # nothing sticks out of the screen
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert page.evaluate("document.documentElement.scrollHeight") <= height
    _clean(watched)


@pytest.mark.parametrize("role", [None, "viewer"])
def test_counts_equal_the_api(open_page, web_service, role: str | None) -> None:
    """The level counts are the API's warnings in force (issued, not expired) by colour; the
    map draws those warnings and no others."""
    watched = open_page("/wall", role=role)
    wait_ready(watched)
    page = watched.page
    expected = _in_force(web_service)
    assert _shown_counts(page) == expected
    public = _api(web_service, "GET", "/api/warnings?status=issued&limit=500").json()
    drawn = set(
        page.evaluate(
            "async () => (await window.riskmapMap.getSource('warnings').getData())"
            ".features.map(f => f.properties.id)"
        )
    )
    assert drawn == {f["id"] for f in public["features"]}
    ticker_ids = {
        int(x)
        for x in page.eval_on_selector_all(
            '#ticker li[data-kind="warning"]', "els => els.map(e => e.dataset.warningId)"
        )
    }
    published = _api(
        web_service, "GET", "/api/warnings?status=issued,cancelled,expired&limit=500"
    ).json()
    assert ticker_ids <= {f["id"] for f in published["features"]}, "a draft on the wall"
    assert page.locator("#public-note").is_visible() == (role is None)
    assert page.locator("#pending").is_visible() == (role is not None)
    _clean(watched)


def test_region_link_counts_only_its_warnings(open_page, web_service) -> None:
    """``?region=<township code>`` counts the warnings touching that township and names it."""
    towns = _api(
        web_service, "GET", "/ogc/collections/townships/items?f=json&limit=1000", "viewer"
    ).json()["features"]
    town = next(
        (t for t in towns if t["properties"].get("warnings")), towns[0]
    )  # one with a warning if there is one
    code = town["properties"]["code"]
    watched = open_page(f"/wall?region={code}&layers=warnings", role="viewer")
    wait_ready(watched)
    page = watched.page
    assert _shown_counts(page) == _in_force(web_service, code)
    assert page.text_content("#region").strip() == town["properties"]["name"]
    visibility = page.evaluate(
        "() => window.riskmapMap.getLayoutProperty('village-line', 'visibility')"
    )
    assert visibility == "none", "layers=warnings leaves the village outlines off"
    _clean(watched)


def test_issue_shows_in_ticker_and_counts_within_two_seconds(open_page, web_service) -> None:
    """A candidate issued through the API is on the wall (ticker first, counts) within 2 s."""
    watched = open_page("/wall", role="viewer", viewport=(1920, 1080))
    wait_ready(watched)
    page = watched.page
    _wait_connected(page)
    before_ms = page.evaluate("Date.now()")
    started = time.monotonic()
    wid = _issue_a_candidate(web_service)
    expected = _in_force(web_service)
    page.wait_for_function(
        """([wid, expected]) => {
            const first = document.querySelector('#ticker li[data-kind="warning"]');
            if (!first || first.dataset.warningId !== String(wid)) return false;
            return Object.entries(expected).every(([c, n]) =>
                document.querySelector(`#counts [data-colour="${c}"] .count`).textContent.trim()
                    === String(n));
        }""",
        arg=[wid, expected],
        timeout=10_000,
    )
    took = time.monotonic() - started
    watched.shot("wall-after-issue")
    assert took <= WITHIN_S, f"warning {wid} reached the wall after {took:.2f} s"
    last_event = int(page.evaluate("document.body.dataset.lastEventAt"))
    assert last_event >= before_ms
    item = page.locator(f'#ticker li[data-warning-id="{wid}"]')
    assert item.get_attribute("data-status") == "issued"
    _clean(watched)


def test_field_report_shows_in_ticker(open_page, web_service) -> None:
    """A field report sent by a reporter is on a signed-in wall within 2 s; the public wall
    never shows field reports."""
    wall = open_page("/wall", role="viewer")
    public = open_page("/wall")
    wait_ready(wall)
    wait_ready(public)
    _wait_connected(wall.page)
    village = _api(
        web_service, "GET", "/ogc/collections/villages/items?f=json&limit=1", "viewer"
    ).json()["features"][0]["id"]
    profile = _api(web_service, "GET", f"/api/villages/{village}", "viewer").json()["village"]
    report = {
        "kind": "waterlogging",
        "lon": profile["lon"],
        "lat": profile["lat"],
        "village_code": village,
        "observed_at": datetime.now(UTC).isoformat(),
        "text": "大屏测试：村口道路积水约三十厘米",
        "people_affected": 12,
    }
    started = time.monotonic()
    r = _api(web_service, "POST", "/api/reports", "reporter", json=report)
    assert r.status_code in (200, 201), r.text
    rid = r.json()["id"]
    wall.page.wait_for_selector(
        f'#ticker li[data-kind="field_report"][data-report-id="{rid}"]', timeout=10_000
    )
    took = time.monotonic() - started
    assert took <= WITHIN_S, f"report {rid} reached the wall after {took:.2f} s"
    text = wall.page.text_content(f'#ticker li[data-report-id="{rid}"]')
    assert profile["name"] in text and "内涝" in text
    assert public.page.locator('#ticker li[data-kind="field_report"]').count() == 0
    _clean(wall)
    _clean(public)


def test_reconnects_by_itself_and_says_when_stale(open_page, web_service) -> None:
    """Server down: the stream state says reconnecting and the last-update time turns red
    (``?stale=5``); server back: the wall reconnects, clears the alarm and shows a warning
    issued afterwards, without a reload."""
    watched = open_page("/wall?stale=5", role="viewer")
    wait_ready(watched)
    page = watched.page
    _wait_connected(page)
    page.evaluate("window.__sameDocument = true")
    web_service.stop()
    try:
        page.wait_for_selector('#stream-state[data-state="reconnecting"]', timeout=15_000)
        page.wait_for_selector("#last-update.stale", timeout=15_000)
        assert "重连" in page.text_content("#stream-state")
        watched.shot("wall-stale")
    finally:
        web_service.start()
    _wait_connected(page, RECONNECT_TIMEOUT_MS)
    wid = _issue_a_candidate(web_service)
    page.wait_for_selector(f'#ticker li[data-warning-id="{wid}"]', timeout=10_000)
    page.wait_for_selector("#last-update:not(.stale)", timeout=5_000)
    assert page.evaluate("window.__sameDocument") is True, "the page was reloaded"
    assert _shown_counts(page) == _in_force(web_service)
    _clean(watched, allowed=r"ERR_CONNECTION|ERR_INCOMPLETE_CHUNKED|Failed to fetch|503|502")


def test_kiosk_link_in_english_with_its_token(open_page, web_service) -> None:
    """``?lang=en`` and ``#token=`` (a kiosk link): English, signed in, the token gone from the
    address bar, no untranslated keys on screen."""
    token = web_service.tokens["viewer"]
    watched = open_page(f"/wall?lang=en&layers=warnings,villages#token={token}")
    wait_ready(watched)
    page = watched.page
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.text_content(".wall-head h1").strip() == "Warning situation"
    assert "token" not in page.url
    assert page.locator("#pending").is_visible(), "the kiosk token signs the wall in"
    side = page.text_content(".wall-side")
    assert not re.search(r"\b(?:wall|report|colour)\.[a-z_.]+\b", side), side
    page.click("#lang-switch")
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    assert page.text_content(".wall-head h1").strip() == "预警态势"
    _clean(watched)
