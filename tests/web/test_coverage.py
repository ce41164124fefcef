"""Warning delivery on the pages, in a real browser over the live demo (conftest.py): the wall's
ticker says how far each warning's messages got and a red strip shows messages given up on; the
console's in-force card shows the coverage by township and the villages not reached.

Events are made by the real producers in the service's database: ``riskmap_event('coverage',
…)`` as the dispatcher's coverage_event.sql calls it, coverage_event.sql itself, and the outbox
trigger that raises ``operator_alert`` when a row goes ``dead``. Expected numbers are the ones
inserted, or counted here with SQL of the test's own, never read from the page's code.

Page contract used here: ``#ticker li[data-kind=warning][data-warning-id] .coverage[data-reached]
[data-villages][data-acknowledged]``; ``#operator-alerts[role=alert] li[data-village-code]``
newest first, at most five; ``#in-force [data-warning-id] summary`` opens the details, whose
``section.coverage#coverage-<id>`` holds ``tr[data-township] td[data-field]`` and
``li[data-not-reached]``.
"""

from __future__ import annotations

import re
from collections import Counter

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from riskmap.geo.db.sqlfiles import SqlFiles
from tests.web.conftest import Watched, wait_ready

DISPATCH_SQL = SqlFiles("riskmap.api.dispatch.sql")
STATES = ("acknowledged", "delivered", "pending", "failed", "no_terminal")
I18N_KEY = re.compile(r"\b(?:wall|coverage|cand)\.[a-z_.]+\b")

# issued warnings in force with loudspeaker or SMS messages, and their newest announced version
ANNOUNCED = """
SELECT o.warning_id AS id, max(o.version) AS version
FROM outbox o JOIN warning w ON w.id = o.warning_id
WHERE w.status = 'issued' AND w.expires_at > now() AND o.channel IN ('broadcast', 'sms')
GROUP BY o.warning_id
"""

# each targeted village's best state, from the outbox rows (test's own reading of the rules:
# confirmed > delivered > pending > failed; no loudspeaker row: no_terminal)
VILLAGE_STATES = """
WITH vil AS (
    SELECT unnest(village_codes) AS code FROM warning_version
    WHERE warning_id = %(id)s AND version = %(version)s
), term AS (
    SELECT payload ->> 'village_code' AS code,
           bool_or(status = 'acked') AS acked,
           bool_or(status IN ('sent', 'acked')) AS sent,
           bool_or(status = 'pending') AS waiting
    FROM outbox
    WHERE warning_id = %(id)s AND version = %(version)s AND channel = 'broadcast'
    GROUP BY 1
)
SELECT vil.code, a.name, a.parent_code AS township,
       CASE WHEN term.code IS NULL THEN 'no_terminal' WHEN term.acked THEN 'acknowledged'
            WHEN term.sent THEN 'delivered' WHEN term.waiting THEN 'pending'
            ELSE 'failed' END AS state
FROM vil JOIN admin_unit a ON a.code = vil.code LEFT JOIN term ON term.code = vil.code
"""


def _db(web_service):
    return psycopg.connect(web_service.db_url, row_factory=dict_row, autocommit=True)


def _announced(web_service) -> dict[int, int]:
    with _db(web_service) as c:
        return {r["id"]: r["version"] for r in c.execute(ANNOUNCED).fetchall()}


def _pending_broadcast(web_service, announced: dict[int, int]) -> dict[int, int]:
    """Loudspeaker messages still pending, by warning (its newest announced version)."""
    with _db(web_service) as c:
        return {
            r["warning_id"]: r["n"]
            for r in c.execute(
                "SELECT warning_id, count(*) AS n FROM outbox WHERE channel = 'broadcast'"
                " AND status = 'pending' AND (warning_id, version) IN"
                " (SELECT id, version FROM unnest(%s::bigint[], %s::int[]) AS a (id, version))"
                " GROUP BY 1",
                (list(announced), list(announced.values())),
            )
        }


def _clean(watched: Watched) -> None:
    assert watched.errors == [], watched.errors
    assert watched.foreign == [], watched.foreign


def _ticker_warning(page, announced: dict[int, int]) -> int:
    """A warning in force with messages that the ticker shows."""
    page.wait_for_selector('#ticker li[data-kind="warning"]')
    shown = page.eval_on_selector_all(
        '#ticker li[data-kind="warning"]', "els => els.map(e => Number(e.dataset.warningId))"
    )
    wid = next((w for w in shown if w in announced), None)
    assert wid is not None, f"no announced warning in force on the ticker ({shown}, {announced})"
    return wid


def _coverage_event(web_service, wid: int, version: int, reached: int, acked: int) -> dict:
    """A coverage event as the dispatcher sends it (riskmap_event), with numbers of our own."""
    with _db(web_service) as c:
        n = {
            r["channel"]: r["n"]
            for r in c.execute(
                "SELECT channel, count(*)::int AS n FROM outbox"
                " WHERE warning_id = %s AND version = %s GROUP BY 1",
                (wid, version),
            )
        }
        villages = n["broadcast"]
        payload = {
            "warning_id": wid,
            "version": version,
            "channels": {
                "broadcast": {
                    "total": villages,
                    "delivered": reached + 2,
                    "acknowledged": acked,
                    "failed": 1,
                    "pending": villages - reached - 3,
                    "villages": villages,
                    "villages_reached": reached,
                    "villages_acknowledged": acked,
                },
                "sms": {
                    "total": n["sms"],
                    "delivered": n["sms"] - 17,
                    "acknowledged": n["sms"] - 40,
                    "failed": 0,
                    "pending": 17,
                    "villages": 0,
                    "villages_reached": 0,
                    "villages_acknowledged": 0,
                },
            },
        }
        c.execute("SELECT riskmap_event('coverage', %s::jsonb)", (Jsonb(payload),))
    return payload


def _shown_coverage(page, wid: int) -> dict[str, int]:
    line = page.locator(f'#ticker li[data-kind="warning"][data-warning-id="{wid}"] .coverage')
    return {
        k: int(line.get_attribute(f"data-{k}")) for k in ("reached", "villages", "acknowledged")
    }


def test_wall_ticker_shows_coverage_live(open_page, web_service) -> None:
    """A kiosk wall (token in the fragment): a coverage event puts "村村响 送达 r/v 村 · 确认 a"
    and the SMS line into the warning's ticker item; a newer one updates that item in place,
    without reading the warnings again; in English too."""
    token = web_service.tokens["viewer"]
    watched = open_page(f"/wall#token={token}", viewport=(1920, 1080))
    wait_ready(watched)
    page = watched.page
    page.wait_for_selector('#stream-state[data-state="connected"]', timeout=15_000)
    announced = _announced(web_service)
    wid = _ticker_warning(page, announced)
    sent = _coverage_event(web_service, wid, announced[wid], reached=41, acked=29)
    b, sms = sent["channels"]["broadcast"], sent["channels"]["sms"]
    item = f'#ticker li[data-kind="warning"][data-warning-id="{wid}"]'
    page.wait_for_selector(f'{item} .coverage[data-reached="41"]', timeout=5_000)
    assert _shown_coverage(page, wid) == {
        "reached": 41,
        "villages": b["villages"],
        "acknowledged": 29,
    }
    text = page.text_content(f"{item} .coverage")
    assert f"村村响 送达 41/{b['villages']} 村 · 确认 29" in text
    assert f"短信 送达 {sms['delivered']}/{sms['total']}" in text

    # the next batch: the same item (not a redrawn ticker), no warning list read again
    page.eval_on_selector(item, "e => { e.__same = true; }")
    reads: list[str] = []
    page.on("request", lambda r: reads.append(r.url) if "/api/warnings" in r.url else None)
    _coverage_event(web_service, wid, announced[wid], reached=b["villages"] - 3, acked=60)
    page.wait_for_selector(f'{item} .coverage[data-acknowledged="60"]', timeout=5_000)
    assert _shown_coverage(page, wid)["reached"] == b["villages"] - 3
    assert page.eval_on_selector(item, "e => e.__same === true"), "the ticker was redrawn"
    assert reads == [], f"an event made the wall read the warnings again: {reads}"
    watched.shot("wall-coverage-zh")

    page.click("#lang-switch")
    page.wait_for_function(
        f"() => document.querySelector('{item} .coverage')?.textContent.includes('Loudspeakers')"
    )
    text = page.text_content(f"{item} .coverage")
    assert (
        f"Loudspeakers reached {b['villages'] - 3}/{b['villages']} villages · 60 confirmed" in text
    )
    assert not I18N_KEY.search(page.text_content(".wall-side"))
    watched.shot("wall-coverage-en")
    page.click("#lang-switch")  # back to Chinese (the language is kept in localStorage)
    _clean(watched)


def test_wall_shows_dead_deliveries(open_page, web_service) -> None:
    """A loudspeaker message given up on (outbox row → dead, whose trigger raises the operator
    alert) is on the wall's red strip within seconds, with the village's name; the strip keeps
    the newest five, newest first. The public wall gets none of it."""
    wall = open_page("/wall", role="viewer", viewport=(1920, 1080))
    public = open_page("/wall")
    wait_ready(wall)
    wait_ready(public)
    page = wall.page
    page.wait_for_selector('#stream-state[data-state="connected"]', timeout=15_000)
    announced = _announced(web_service)
    pending = _pending_broadcast(web_service, announced)
    # one with loudspeaker messages enough to give up on six of them
    wid = _ticker_warning(page, {w: v for w, v in announced.items() if pending.get(w, 0) >= 6})
    assert page.locator("#operator-alerts").is_hidden()
    with _db(web_service) as c:
        rows = c.execute(
            "SELECT id, payload ->> 'village_code' AS village FROM outbox"
            " WHERE warning_id = %s AND version = %s AND channel = 'broadcast'"
            " AND status = 'pending' ORDER BY id DESC LIMIT 6",
            (wid, announced[wid]),
        ).fetchall()
        assert len(rows) == 6, "the demo's warning has pending loudspeaker messages"
        killed = []
        for n, row in enumerate(rows):
            c.execute(
                "UPDATE outbox SET status = 'dead', attempts = 5, last_error = %s WHERE id = %s",
                (f"HTTP 503 from the receiver (test {n})", row["id"]),
            )
            killed.append(row["village"])
            if n == 0:
                first = row["village"]
                name = httpx.get(
                    f"{web_service.base_url}/api/villages/{first}",
                    headers={"Authorization": f"Bearer {web_service.tokens['viewer']}"},
                    timeout=30,
                ).json()["village"]["name"]
                strip = page.locator(f'#operator-alerts li[data-village-code="{first}"]')
                strip.wait_for(state="visible", timeout=5_000)
                assert page.locator("#operator-alerts").get_attribute("role") == "alert"
                assert name in strip.text_content()
                assert "投递失败" in strip.text_content()
                assert strip.get_attribute("data-warning-id") == str(wid)
    newest = list(reversed(killed))[:5]
    page.wait_for_function(
        "(codes) => JSON.stringify([...document.querySelectorAll('#operator-alerts li')]"
        ".map(e => e.dataset.villageCode)) === JSON.stringify(codes)",
        arg=newest,
        timeout=5_000,
    )
    shot = wall.shot("wall-coverage")
    assert shot.stat().st_size > 0
    assert page.evaluate("document.documentElement.scrollHeight") <= 1080
    assert public.page.locator("#operator-alerts li").count() == 0
    assert public.page.locator("#ticker .coverage").count() == 0
    _clean(wall)
    _clean(public)


def _expected_by_township(web_service, wid: int, version: int) -> tuple[dict, set[str]]:
    with _db(web_service) as c:
        villages = c.execute(VILLAGE_STATES, {"id": wid, "version": version}).fetchall()
    towns: dict[str, Counter] = {}
    for v in villages:
        town = towns.setdefault(v["township"], Counter({s: 0 for s in STATES}))
        town["villages"] += 1
        town[v["state"]] += 1
    not_reached = {v["code"] for v in villages if v["state"] in ("pending", "failed")}
    return {code: dict(counts) for code, counts in towns.items()}, not_reached


def _shown_by_township(page, wid: int) -> dict:
    return page.evaluate(
        """(wid) => Object.fromEntries([...document.querySelectorAll(
            `#coverage-${wid} tr[data-township]`)].map(tr => [tr.dataset.township,
            Object.fromEntries([...tr.querySelectorAll('td[data-field]')].map(td =>
                [td.dataset.field, Number(td.textContent.replace(/,/g, ''))]))]))""",
        wid,
    )


@pytest.fixture
def late_after_seconds(web_service, monkeypatch):
    """Count a village as not reached a moment after issue (the demo issued just now)."""
    monkeypatch.setattr(web_service.settings, "coverage_minutes", 0.01)


def test_console_shows_coverage_by_township(open_page, web_service, late_after_seconds) -> None:
    """Some loudspeaker messages delivered, confirmed or failed: the in-force card's 发布情况
    table equals the counts by township made here with SQL, the not-reached villages are listed;
    more confirmations and the coverage event that follows (the dispatcher's own SQL) update
    the open table."""
    announced = _announced(web_service)
    watched = open_page("/", role="forecaster")
    wait_ready(watched)
    page = watched.page
    shown = [
        int(x)
        for x in page.eval_on_selector_all(
            "#in-force [data-warning-id]", "els => els.map(e => e.dataset.warningId)"
        )
    ]
    pending = _pending_broadcast(web_service, announced)
    wid = max((w for w in shown if w in announced), key=lambda w: pending.get(w, 0))
    version = announced[wid]
    with _db(web_service) as c:
        ids = [
            r["id"]
            for r in c.execute(
                "SELECT id FROM outbox WHERE warning_id = %s AND version = %s"
                " AND channel = 'broadcast' AND status = 'pending' ORDER BY id",
                (wid, version),
            )
        ]
        assert len(ids) >= 20
        acked, sent, failed = ids[0::4], ids[1::4], ids[2::9]
        c.execute(
            "UPDATE outbox SET status = 'acked', sent_at = now(), acked_at = now()"
            " WHERE id = ANY(%s)",
            (acked,),
        )
        c.execute("UPDATE outbox SET status = 'sent', sent_at = now() WHERE id = ANY(%s)", (sent,))
        c.execute(
            "UPDATE outbox SET status = 'failed', last_error = 'receiver said 410'"
            " WHERE id = ANY(%s)",
            (failed,),
        )
        c.execute(
            "UPDATE outbox SET status = 'sent', sent_at = now() WHERE id IN (SELECT id FROM outbox"
            " WHERE warning_id = %s AND version = %s AND channel = 'sms' ORDER BY id LIMIT 100)",
            (wid, version),
        )
    expected, not_reached = _expected_by_township(web_service, wid, version)
    assert any(t["acknowledged"] for t in expected.values()) and not_reached

    card = page.locator(f"#in-force [data-warning-id='{wid}']")
    card.locator("summary").first.click()
    page.wait_for_selector(f"#coverage-{wid} tr[data-township]")
    assert _shown_by_township(page, wid) == expected
    listed = set(
        page.eval_on_selector_all(
            f"#coverage-{wid} li[data-not-reached]", "els => els.map(e => e.dataset.notReached)"
        )
    )
    assert listed == not_reached
    totals = {
        s: int(page.text_content(f'#coverage-{wid} .coverage-totals [data-state="{s}"] dd'))
        for s in STATES
    }
    assert totals == {s: sum(t[s] for t in expected.values()) for s in STATES}
    assert "分钟未送达" in page.text_content(f"#coverage-{wid} .not-reached h5")

    # confirmations come in; the dispatcher's coverage event makes the open card read again
    with _db(web_service) as c:
        c.execute(
            "UPDATE outbox SET status = 'acked', sent_at = now(), acked_at = now()"
            " WHERE id = ANY(%s) AND status IN ('pending', 'sent')",
            (ids[: len(ids) // 2],),
        )
        c.execute(DISPATCH_SQL("coverage_event.sql"), {"warning_ids": [wid]})
    after, not_reached_after = _expected_by_township(web_service, wid, version)
    assert after != expected
    page.wait_for_function(
        """([wid, want]) => {
            const rows = [...document.querySelectorAll(`#coverage-${wid} tr[data-township]`)];
            return rows.length > 0 && rows.every(tr => Object.entries(want[tr.dataset.township])
                .every(([k, v]) => Number(tr.querySelector(`td[data-field="${k}"]`)
                    ?.textContent.replace(/,/g, '')) === v));
        }""",
        arg=[wid, after],
        timeout=10_000,
    )
    assert _shown_by_township(page, wid) == after
    listed = set(
        page.eval_on_selector_all(
            f"#coverage-{wid} li[data-not-reached]", "els => els.map(e => e.dataset.notReached)"
        )
    )
    assert listed == not_reached_after
    page.locator(f"#coverage-{wid}").scroll_into_view_if_needed()
    watched.shot("console-coverage")

    page.locator("#lang-switch").click()
    page.wait_for_selector(f"#coverage-{wid} tr[data-township]")
    section = page.text_content(f"#coverage-{wid}")
    assert "Delivery" in section and "Not reached after" in section
    assert not I18N_KEY.search(section), I18N_KEY.search(section)
    page.locator("#lang-switch").click()
    _clean(watched)
