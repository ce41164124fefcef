"""The three pages together, in Debian's Chromium over a real server (issue 13): each loads for
a public visitor and a forecaster with a map on screen and nothing fetched from elsewhere; the
caching the API promises; a forecaster who signs in and issues a candidate while a wall map in
another browser shows it; the banner while the server is down; phones without sideways scroll.

Page contracts used here (ids and attributes the pages promise):
- every page: ``body[data-ready=true]`` once loaded, ``window.riskmapMap`` (MapLibre),
  ``#net-banner`` while the server cannot be reached; sign-in through ``#sign-in`` →
  ``#sign-in-name``, ``#sign-in-password``, ``#sign-in-submit``;
- console (``/``): ``#review-queue .candidate[data-warning-id]`` with
  ``button[data-action=issue]``; the reason dialog ``#action-dialog textarea[name=reason]`` and
  ``#action-submit``;
- wall (``/wall``): ``#ticker li[data-kind][data-warning-id]``, ``#counts [data-colour] .count``,
  ``#last-update``.
"""

from __future__ import annotations

import re
import time

import httpx
import pytest

from tests.web.conftest import PASSWORD, REVIEW, Watched, canvas_colours, wait_ready

PAGES = {"console": "/", "wall": "/wall", "resources": "/resources"}
ROLES = {"public": None, "forecaster": "forecaster"}
PHONE = (390, 844)
WALL_WITHIN_S = 2.0


def _clean(watched: Watched) -> None:
    """No console error, no exception, no request to another host."""
    assert watched.errors == [], f"{watched.page.url}: {watched.errors}"
    assert watched.foreign == [], f"{watched.page.url} asked other hosts: {watched.foreign}"


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("page", list(PAGES))
def test_page_loads_with_a_map(open_page, page: str, role: str) -> None:
    """Ready, a map with more than one colour on it, no errors, nothing fetched elsewhere."""
    watched = open_page(PAGES[page], role=ROLES[role], viewport=REVIEW)
    wait_ready(watched)
    colours = canvas_colours(watched)
    watched.shot(f"page-{page}-{role}")
    assert colours > 1, f"{PAGES[page]} as {role}: the map canvas is one colour (blank map)"
    _clean(watched)


def test_cache_headers(web_service) -> None:
    """Pages revalidate on every load (no-cache, with a validator); hashed assets are immutable."""
    base = web_service.base_url
    with httpx.Client(base_url=base, timeout=30) as http:
        html = http.get("/")
        assert html.status_code == 200
        assert "no-cache" in html.headers.get("cache-control", ""), html.headers
        assert "immutable" not in html.headers.get("cache-control", "")
        etag = html.headers.get("etag")
        assert etag, f"index.html has no ETag to revalidate with: {html.headers}"
        assert http.get("/", headers={"If-None-Match": etag}).status_code == 304
        for path in ("/wall", "/resources"):
            other = http.get(path)
            assert other.status_code == 200, path
            assert "no-cache" in other.headers.get("cache-control", ""), (path, other.headers)

        scripts = re.findall(r'<script[^>]+src="(/assets/[^"]+\.js)"', html.text)
        assert scripts, f"index.html names no /assets/*.js script: {html.text[:500]}"
        for src in scripts:
            assert re.search(r"-[A-Za-z0-9_-]{8}\.js$", src), f"{src}: no content hash in its name"
            asset = http.get(src)
            assert asset.status_code == 200, src
            control = asset.headers.get("cache-control", "")
            assert "immutable" in control and "max-age=31536000" in control, (src, control)
            assert "javascript" in asset.headers.get("content-type", ""), asset.headers


def test_issue_on_console_shows_on_wall(open_page, web_service) -> None:
    """A forecaster signs in with a password, issues a candidate; another browser's wall shows
    it within 2 s of the click."""
    wall = open_page("/wall")  # a second browser context, as on the command-centre screen
    wait_ready(wall)

    console = open_page("/")
    wait_ready(console)
    page = console.page
    page.click("#sign-in")
    page.fill("#sign-in-name", "web-forecaster")
    page.fill("#sign-in-password", PASSWORD)
    page.click("#sign-in-submit")
    page.wait_for_selector("#sign-in-dialog", state="detached", timeout=15000)
    # signing in reloads the console (onSession): the token is read from the browser's storage,
    # not from a page that the reload may be tearing down
    deadline = time.monotonic() + 15
    while (token := _stored(page, "riskmap.token")) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert token and token.startswith("rm_"), "signing in stored no token"
    assert token != web_service.tokens["forecaster"], "a token from /api/session is new"

    page.wait_for_selector("#review-queue .candidate[data-warning-id]", timeout=30000)
    wait_ready(console)  # the signed-in map (more layers) drawn, as a forecaster would see it
    candidate = page.locator("#review-queue .candidate[data-warning-id]").first
    warning_id = candidate.get_attribute("data-warning-id")
    candidate.locator("button[data-action=issue]").click()
    page.wait_for_selector("#action-dialog textarea[name=reason]", state="visible")
    page.fill("#action-dialog textarea[name=reason]", "网页测试：雨量站核实，签发")
    console.shot("issue-dialog-console")

    answered: list[float] = []
    page.on(
        "response",
        lambda r: (
            answered.append(time.monotonic())
            if r.request.method == "POST" and r.url.endswith(f"/api/warnings/{warning_id}/issue")
            else None
        ),
    )
    clicked = time.monotonic()
    page.click("#action-submit")
    wall.page.wait_for_selector(
        f'#ticker li[data-kind][data-warning-id="{warning_id}"]', timeout=15000
    )
    took = time.monotonic() - clicked
    wall.shot("issue-wall-shows-it")
    server = f"{answered[0] - clicked:.2f} s" if answered else "not seen by then"
    print(f"warning {warning_id} on the wall {took:.2f} s after the click (answer: {server})")
    assert took <= WALL_WITHIN_S, (
        f"the wall showed warning {warning_id} after {took:.2f} s"
        f" (the console's POST …/issue was answered after {server})"
    )

    with httpx.Client(base_url=web_service.base_url, timeout=30) as http:
        public = http.get("/api/warnings", params={"limit": 100})  # no token: published only
        assert public.status_code == 200, public.text
        assert warning_id in {str(f["id"]) for f in public.json()["features"]}
    counts = wall.page.eval_on_selector_all(
        "#counts [data-colour] .count", "nodes => nodes.map(n => n.textContent.trim())"
    )
    assert counts and any(re.fullmatch(r"[1-9]\d*", c) for c in counts), counts
    assert wall.page.text_content("#last-update").strip()
    _clean(console)
    _clean(wall)


def test_banner_while_server_is_down(open_page, web_service) -> None:
    """The console says it cannot reach the server while it is down, and stops saying so once
    the server answers again."""
    console = open_page("/", role="forecaster")
    wait_ready(console)
    banner = console.page.locator("#net-banner")
    assert not banner.is_visible(), "the banner shows while the server is up"
    web_service.stop()
    try:
        banner.wait_for(state="visible", timeout=30000)
        assert "无法连接服务器" in banner.text_content()
        console.shot("net-banner-console")
    finally:
        web_service.start()
    banner.wait_for(state="hidden", timeout=30000)
    assert console.foreign == []
    # failed requests while the server is down are expected (refused, a stream cut off); any
    # other error is not
    unexpected = [e for e in console.errors if not re.search(r"net::ERR_|Failed to fetch", e)]
    assert unexpected == [], unexpected


@pytest.mark.parametrize("page", list(PAGES))
def test_phone_has_no_sideways_scroll(open_page, page: str) -> None:
    """At 390×844 (a phone) the page is as wide as the screen: nothing scrolls sideways."""
    watched = open_page(PAGES[page], role="forecaster", viewport=PHONE)
    wait_ready(watched)
    watched.shot(f"phone-{page}")
    width = watched.page.evaluate(
        """() => {
            window.scrollTo(200, 0);
            const overflowing = [...document.querySelectorAll("body *")]
                .filter((el) => {
                    const r = el.getBoundingClientRect();
                    return r.width > 0 && r.right > window.innerWidth + 1;
                })
                .slice(0, 5)
                .map((el) => `${el.tagName.toLowerCase()}#${el.id}.${el.className}`);
            return {
                inner: window.innerWidth,
                doc: document.documentElement.scrollWidth,
                body: document.body.scrollWidth,
                scrollX: window.scrollX,
                overflowing,
            };
        }"""
    )
    assert width["scrollX"] == 0, width
    assert width["doc"] <= width["inner"], width
    assert width["body"] <= width["inner"], width
    _clean(watched)


def _stored(page, key: str) -> str | None:
    """``key`` in the localStorage of the page's browser context (None if not there)."""
    for origin in page.context.storage_state()["origins"]:
        for item in origin.get("localStorage", []):
            if item["name"] == key:
                return item["value"]
    return None
