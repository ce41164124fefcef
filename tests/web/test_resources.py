"""The emergency-resource one map (``/resources``) in a real browser over the live demo.

Expected values come from the API (httpx against the same server): the nearest resources to
the point clicked, the township totals, the warehouses holding an item.

Page contract used here: layers ``shelters``, ``warehouses``, ``teams``, ``experts``;
``#nearest`` (``data-lon``/``data-lat`` of the point asked about, or ``data-warning-id``) with
``section[data-kind]`` holding ``li[data-id][data-distance-m]`` in distance order;
``#item-search`` (``#item-count[data-count]``), ``#warning-select``, ``#pick-point``,
``#township-table`` (numbers in ``data-value``), ``#export-csv``.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import httpx
import pytest

from tests.web.conftest import (
    DESKTOP,
    Watched,
    canvas_colours,
    rendered_layers,
    wait_ready,
)

KINDS = ("shelter", "warehouse", "team", "expert")
LAYERS = {"shelters", "warehouses", "teams", "experts"}


def _get(web_service, path: str, role: str | None = "viewer", **params) -> dict:
    headers = {"Authorization": f"Bearer {web_service.tokens[role]}"} if role else {}
    r = httpx.get(web_service.base_url + path, params=params, headers=headers, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def _clean(watched: Watched) -> None:
    assert watched.errors == [], watched.errors
    assert watched.foreign == [], watched.foreign


def _open(open_page, viewport: tuple[int, int] = DESKTOP) -> Watched:
    watched = open_page("/resources", role="viewer", viewport=viewport)
    wait_ready(watched)
    return watched


def _click_lonlat(page, lon: float, lat: float) -> None:
    """Centre the map on the point, then click it where MapLibre projects it."""
    page.evaluate(
        """([lon, lat]) => new Promise((done) => {
            const map = window.riskmapMap;
            map.once('idle', done);
            map.jumpTo({ center: [lon, lat], zoom: 12 });
        })""",
        [lon, lat],
    )
    x, y = page.evaluate(
        """([lon, lat]) => {
            const map = window.riskmapMap;
            const p = map.project([lon, lat]);
            const r = map.getCanvas().getBoundingClientRect();
            return [r.left + p.x, r.top + p.y];
        }""",
        [lon, lat],
    )
    page.mouse.click(x, y)


def _listed(page) -> dict[str, list[tuple[str, float]]]:
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('#nearest section[data-kind]')]
            .map(s => [s.dataset.kind, [...s.querySelectorAll('li[data-id]')]
                .map(li => [li.dataset.id, Number(li.dataset.distanceM)])]))"""
    )


def _wait_answer(page) -> None:
    page.wait_for_function(
        """() => { const n = document.querySelector('#nearest');
                   return n.getAttribute('aria-busy') !== 'true'
                       && n.querySelectorAll('section[data-kind] li[data-id]').length > 0; }""",
        timeout=15_000,
    )


@pytest.mark.parametrize(("width", "height"), [(1440, 900), (390, 844)])
def test_resources_page_loads(open_page, width: int, height: int) -> None:
    """No errors, a drawn map with the four resource layers, the table filled."""
    watched = _open(open_page, (width, height))
    page = watched.page
    watched.shot(f"resources-{width}x{height}")
    assert canvas_colours(watched) > 1
    assert LAYERS <= rendered_layers(watched)
    assert page.locator("#township-table tbody tr").count() > 1
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    _clean(watched)


def test_public_visitor_is_asked_to_sign_in(open_page) -> None:
    watched = open_page("/resources")
    wait_ready(watched)
    assert "登录" in watched.page.text_content("#nearest")
    _clean(watched)


def test_click_on_a_village_gives_the_nearest_of_each_kind(open_page, web_service) -> None:
    """Clicking a village's label point lists, per kind, what the API answers for the very
    coordinate the map clicked (ids in order, distances within 1 m)."""
    village = _get(web_service, "/ogc/collections/villages/items", f="json", limit=3)["features"][2]
    profile = _get(web_service, f"/api/villages/{village['id']}")["village"]
    watched = _open(open_page)
    page = watched.page
    _click_lonlat(page, profile["lon"], profile["lat"])
    _wait_answer(page)
    lon = float(page.get_attribute("#nearest", "data-lon"))
    lat = float(page.get_attribute("#nearest", "data-lat"))
    assert abs(lon - profile["lon"]) < 0.001 and abs(lat - profile["lat"]) < 0.001
    listed = _listed(page)
    assert set(listed) == set(KINDS)
    for kind in KINDS:
        api = _get(web_service, "/api/resources/nearest", kind=kind, lon=lon, lat=lat, k=5)
        want = [(f["id"], f["properties"]["distance_m"]) for f in api["features"]]
        got = listed[kind]
        assert [g[0] for g in got] == [w[0] for w in want], kind
        for (_, d_got), (_, d_want) in zip(got, want, strict=True):
            assert d_got == pytest.approx(d_want, abs=1.0)
        assert [d for _, d in got] == sorted(d for _, d in got)
    # experts have no location: measured to the area they serve (inside it: 0 m), said so
    assert "服务区域" in page.text_content('#nearest section[data-kind="expert"]')
    watched.shot("resources-nearest")
    _clean(watched)


def test_keyboard_pick_uses_the_map_centre(open_page, web_service) -> None:
    """#pick-point, then Enter on the focused map: the nearest to the map's centre."""
    watched = _open(open_page)
    page = watched.page
    page.focus("#pick-point")
    page.keyboard.press("Enter")
    assert page.get_attribute("#pick-point", "aria-pressed") == "true"
    centre = page.evaluate("window.riskmapMap.getCenter().toArray()")
    page.keyboard.press("Enter")  # the map canvas has the focus now
    _wait_answer(page)
    assert float(page.get_attribute("#nearest", "data-lon")) == pytest.approx(centre[0], abs=1e-9)
    assert page.get_attribute("#pick-point", "aria-pressed") == "false"
    _clean(watched)


def test_warning_picker_measures_from_the_warning_area(open_page, web_service) -> None:
    watched = _open(open_page)
    page = watched.page
    values = page.eval_on_selector_all(
        "#warning-select option", "os => os.map(o => o.value).filter(Boolean)"
    )
    assert values, "no warning to choose"
    page.select_option("#warning-select", values[0])
    page.wait_for_selector(f'#nearest[data-warning-id="{values[0]}"]')
    _wait_answer(page)
    api = _get(web_service, "/api/resources/nearest", kind="shelter", warning_id=values[0], k=5)
    got = _listed(page)["shelter"]
    assert [g[0] for g in got] == [f["id"] for f in api["features"]]
    _clean(watched)


def _table(page) -> tuple[list[str], list[list[str]]]:
    """Header texts and, per row, each cell's number (data-value) or text."""
    head = page.eval_on_selector_all(
        "#township-table thead th", "ths => ths.map(t => t.textContent.trim())"
    )
    rows = page.eval_on_selector_all(
        "#township-table tbody tr, #township-table tfoot tr",
        """trs => trs.map(tr => [...tr.children].map(c =>
            c.dataset.value !== undefined ? c.dataset.value : c.textContent.trim()))""",
    )
    return head, rows


def test_township_totals_equal_the_summary(open_page, web_service) -> None:
    summary = _get(web_service, "/api/resources/summary", by="township")
    watched = _open(open_page)
    head, rows = _table(watched.page)
    total = dict(zip(head, rows[-1], strict=True))
    t = summary["totals"]
    assert total["乡镇"] == "合计"
    assert int(total["仓库（个）"]) == t["warehouses"]
    assert int(total["避难场所（个）"]) == t["shelters"]
    assert int(total["容纳（人）"]) == t["capacity"]
    assert int(total["已安置（人）"]) == t["occupied"]
    assert int(total["空余（人）"]) == t["free"]
    assert int(total["救援队伍（支）"]) == sum(t["teams"].values())
    assert int(total["专家（人）"]) == t["experts"]
    for s in t["stock"]:
        assert float(total[f"{s['item_name']}（{s['unit']}）"]) == s["quantity"], s["item"]
    # one row per group, in the API's order, each with the group's figures
    assert [r[1] for r in rows[:-1]] == [g["code"] for g in summary["groups"]]
    for row, g in zip(rows[:-1], summary["groups"], strict=True):
        cells = dict(zip(head, row, strict=True))
        assert int(cells["容纳（人）"]) == g["capacity"]
        assert int(cells["仓库（个）"]) == g["warehouses"]
    _clean(watched)


def test_csv_export_matches_the_table(open_page) -> None:
    """UTF-8 with a byte-order mark (Excel), Chinese header row, the table's rows and numbers."""
    watched = _open(open_page)
    page = watched.page
    head, rows = _table(page)
    with page.expect_download() as download:
        page.click("#export-csv")
    path = download.value.path()
    data = Path(path).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf"), "no BOM: Excel would misread the Chinese"
    assert download.value.suggested_filename.endswith(".csv")
    parsed = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert parsed[0] == head
    assert parsed[0][0] == "乡镇"
    body = parsed[1:]
    assert len(body) == len(rows)
    for got, want in zip(body, rows, strict=True):
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            try:
                assert float(g) == float(w)
            except ValueError:
                assert g == w
    _clean(watched)


def test_item_search_narrows_warehouses(open_page, web_service) -> None:
    """Typing 帐篷 leaves on the map the warehouses whose stock (OGC data) holds tents, and the
    nearest warehouses are among them."""
    items = _get(web_service, "/ogc/collections/warehouses/items", f="json", limit=1000)
    holding = {
        f["id"]
        for f in items["features"]
        if any(s["quantity"] > 0 and "帐篷" in s["item_name"] for s in f["properties"]["stock"])
    }
    assert 0 < len(holding) < len(items["features"])
    watched = _open(open_page)
    page = watched.page
    page.fill("#item-search", "帐篷")
    page.wait_for_selector(f'#item-count[data-count="{len(holding)}"]', timeout=5000)
    shown = page.evaluate(
        "() => window.riskmapMap.getFilter('warehouses')?.[2]?.[1] ?? null"
    )  # ["in", ["get", "id"], ["literal", ids]]
    assert set(shown) == holding
    page.evaluate(
        "() => new Promise((done) => { const map = window.riskmapMap;"
        " map.once('idle', done); map.triggerRepaint(); })"
    )  # drawn with the new filter
    drawn = set(
        page.evaluate(
            "() => window.riskmapMap.queryRenderedFeatures({layers: ['warehouses']})"
            ".map(f => f.properties.id)"
        )
    )
    assert drawn and drawn <= holding
    village = _get(web_service, "/ogc/collections/villages/items", f="json", limit=1)["features"][0]
    profile = _get(web_service, f"/api/villages/{village['id']}")["village"]
    _click_lonlat(page, profile["lon"], profile["lat"])
    _wait_answer(page)
    listed = [i for i, _ in _listed(page)["warehouse"]]
    assert listed and set(listed) <= holding
    assert "帐篷" in page.text_content('#nearest section[data-kind="warehouse"]')
    page.fill("#item-search", "")
    page.wait_for_function("() => window.riskmapMap.getFilter('warehouses') == null")
    _clean(watched)


def test_says_so_when_the_server_is_away(open_page, web_service) -> None:
    """A search while the server is down: the shell's banner and the panel say so; once the
    server is back the same click answers."""
    watched = _open(open_page)
    page = watched.page
    web_service.stop()
    try:
        page.evaluate(
            "() => { const c = window.riskmapMap.getCanvas(); c.focus();"
            " c.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true})); }"
        )
        page.locator("#net-banner").wait_for(state="visible", timeout=15_000)
        assert "无法连接服务器" in page.text_content("#nearest .error")
        watched.shot("resources-server-away")
    finally:
        web_service.start()
    page.focus("#pick-point")
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    _wait_answer(page)
    page.locator("#net-banner").wait_for(state="hidden", timeout=15_000)
    assert page.locator("#nearest .error").count() == 0
    unexpected = [e for e in watched.errors if "ERR_CONNECTION" not in e]
    assert unexpected == [], unexpected
