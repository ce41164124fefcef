"""The console's work-safety layer and site dialog in a real browser: monitoring points and
readings written for the demo's tailings dam, then the dam drawn in its level's colour and its
dialog with a chart per point. Expected levels are worked out by hand from the thresholds
written here; names and counts come from the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest

from riskmap.geo.worksafety.cycle import run_cycle
from tests.web.conftest import wait_ready

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def dam(web_service) -> str:
    """The demo dam with a phreatic-line point whose newest reading (5.2 m, alarm when
    shallower) is past orange (5.5 m) but not red (5.0 m), and a displacement point below
    blue."""
    with psycopg.connect(web_service.db_url) as conn:
        (site,) = conn.execute(
            "SELECT id FROM hazardous_site WHERE kind = 'tailings_dam' ORDER BY id LIMIT 1"
        ).fetchone()
        # the demo's own configuration of the dam makes way for this test's points
        conn.execute("DELETE FROM ws_site WHERE site_id = %s", (site,))
        conn.execute(
            "INSERT INTO ws_site (site_id, supervising_section, config_sha256, dataset_id)"
            " SELECT id, '矿山股', 'test', dataset_id FROM hazardous_site WHERE id = %s"
            " ON CONFLICT DO NOTHING",
            (site,),
        )
        points = [
            ("W-PH1", "phreatic_depth", "浸润线埋深 P1", "m", "below",
             {"blue": 8.0, "yellow": 6.5, "orange": 5.5, "red": 5.0}),
            ("W-GP1", "surface_displacement", "坝顶表面位移 GP1", "mm", "above",
             {"blue": 20.0, "yellow": 40.0, "orange": 60.0, "red": 80.0}),
        ]  # fmt: skip
        for pid, item, name, unit, direction, thresholds in points:
            conn.execute(
                "INSERT INTO ws_point (id, site_id, item, name, unit, direction, dataset_id, geom)"
                " SELECT %s, id, %s, %s, %s, %s, dataset_id, ST_PointOnSurface(geom)"
                " FROM hazardous_site WHERE id = %s",
                (pid, item, name, unit, direction, site),
            )
            for level, value in thresholds.items():
                conn.execute(
                    "INSERT INTO ws_threshold (point_id, level, value) VALUES (%s, %s, %s)",
                    (pid, level, value),
                )
        conn.execute("SELECT ws_reading_ensure_partitions(%s, %s)", (NOW - timedelta(days=1), NOW))
        for minutes in range(0, 12 * 60, 10):  # half a day every 10 minutes, deepest first
            depth = 7.0 - 1.8 * (1 - minutes / 720)  # 5.2 m now, 7.0 m 12 h ago
            for pid, value in (("W-PH1", depth), ("W-GP1", 10 + minutes / 100)):
                conn.execute(
                    "INSERT INTO ws_reading (point_n, tm, value)"
                    " SELECT n, %s, %s FROM ws_point WHERE id = %s",
                    (NOW - timedelta(minutes=minutes), round(value, 3), pid),
                )
        conn.commit()
        # the alarm engine and the grade: the depth has been past orange (5.5 m) for two
        # hours, far longer than the minimum duration — the dam is orange
        run_cycle(conn, NOW)
    return site


def test_dam_drawn_in_its_level_and_dialog_charts_each_point(open_page, web_service, dam):
    api = httpx.get(
        f"{web_service.base_url}/api/sites/{dam}",
        headers={"Authorization": f"Bearer {web_service.tokens['forecaster']}"},
        timeout=30,
    ).json()
    watched = open_page("/", role="forecaster")
    wait_ready(watched)
    page = watched.page
    page.wait_for_function(
        "() => window.riskmapMap.querySourceFeatures('sites').length > 0", timeout=30000
    )
    colour = page.evaluate(
        f"() => [...new Set(window.riskmapMap.querySourceFeatures('sites')"
        f".filter(f => f.properties.id === {dam!r}).map(f => f.properties.colour))]"
    )
    assert colour == ["orange"]
    # uncover the dam (other point layers may lie on it), then click it
    for value in ("stations", "shelters"):
        page.locator(f"#layers input[type=checkbox][value={value}]").uncheck()
    lon, lat = api["lon"], api["lat"]
    page.evaluate(f"() => window.riskmapMap.jumpTo({{center: [{lon}, {lat}], zoom: 13}})")
    page.wait_for_function("() => window.riskmapMap.loaded()", timeout=30000)
    x, y = page.evaluate(
        f"() => {{ const p = window.riskmapMap.project([{lon}, {lat}]);"
        " const r = window.riskmapMap.getCanvas().getBoundingClientRect();"
        " return [p.x + r.left, p.y + r.top]; }"
    )
    page.mouse.click(x, y)
    dialog = page.locator("#site-dialog")
    dialog.wait_for(state="visible")
    page.wait_for_selector("#site-dialog .site-point canvas")
    assert dialog.get_attribute("data-site-id") == dam
    assert page.locator("#site-title").inner_text().startswith(api["name"])
    assert "尾矿库" in page.locator("#site-title").inner_text()
    shown = page.eval_on_selector_all(
        "#site-dialog .site-point", "els => els.map(e => e.dataset.pointId)"
    )
    assert sorted(shown) == ["W-GP1", "W-PH1"]
    ph = page.locator("#site-dialog .site-point[data-point-id='W-PH1']")
    assert ph.locator(".site-level").inner_text() == "橙色"
    assert "5.2 m" in ph.inner_text() and "橙色 ≤ 5.5" in ph.inner_text()
    assert page.locator("#site-dialog .site-grade").get_attribute("data-level") == "orange"
    assert page.locator("#site-dialog .site-alarm.threshold").count() == 1
    below = [d["village_name"] for d in api["downstream"]]
    assert below, "the demo dam has villages below it"
    shown_below = page.locator("#site-dialog .site-downstream li").all_inner_texts()
    assert len(shown_below) == len(below)
    # an ordered list, nearest first: each item starts with the village's name
    assert all(t.startswith(n) for t, n in zip(shown_below, below, strict=True)), shown_below
    gp = page.locator("#site-dialog .site-point[data-point-id='W-GP1']")
    assert gp.locator(".site-level").inner_text() == "正常"
    assert page.locator("#site-dialog .site-point canvas").count() >= 2
    watched.shot("console-site-dialog")
    page.locator("#site-close").click()
    dialog.wait_for(state="hidden")
    assert watched.errors == []


def test_wall_shows_the_sites_of_its_region_when_asked(open_page, web_service, dam):
    listed = httpx.get(
        f"{web_service.base_url}/api/sites",
        headers={"Authorization": f"Bearer {web_service.tokens['viewer']}"},
        timeout=30,
    ).json()["features"]
    in_county = {f["id"] for f in listed if f["properties"]["admin_code"].startswith("431226")}
    assert dam in in_county
    watched = open_page("/wall?region=431226&layers=warnings,sites", role="viewer")
    page = watched.page
    page.wait_for_function(
        "() => window.riskmapMap && window.riskmapMap.getLayer('sites')"
        " && window.riskmapMap.querySourceFeatures('sites').length > 0",
        timeout=30000,
    )
    shown = page.evaluate(
        "() => [...new Set(window.riskmapMap.querySourceFeatures('sites')"
        ".map(f => f.properties.id))]"
    )
    assert set(shown) == in_county
    colour = page.evaluate(
        f"() => [...new Set(window.riskmapMap.querySourceFeatures('sites')"
        f".filter(f => f.properties.id === {dam!r}).map(f => f.properties.colour))]"
    )
    assert colour == ["orange"]
    # without `sites` in the link the wall has no such layer
    plain = open_page("/wall?region=431226&layers=warnings", role="viewer").page
    plain.wait_for_function("() => window.riskmapMap && window.riskmapMap.loaded()")
    assert plain.evaluate("() => window.riskmapMap.getLayer('sites') === undefined")
    assert watched.errors == []
