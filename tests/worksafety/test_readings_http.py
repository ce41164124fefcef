"""POST /api/readings for real: the riskmap API on 127.0.0.1 over PostGIS. A gateway's token
stores readings; bad items are answered and quarantined; other roles are refused."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import psycopg
import pytest

from riskmap.api.users import add_user, new_token
from riskmap.geo.settings import Settings
from tests.api.conftest import start_server
from tests.worksafety.hj212_db import (  # noqa: F401 (fixtures)
    POINT_N,
    ws_template_fixture,
    ws_url_fixture,
)


@pytest.fixture
def api(ws_url: str, tmp_path) -> Iterator[tuple[str, dict[str, str]]]:
    with psycopg.connect(ws_url) as conn:
        tokens = {}
        for role in ("integration", "reporter"):
            add_user(conn, f"t-{role}", role)
            tokens[role] = new_token(conn, f"t-{role}", label="tests")
    base, server, thread = start_server(Settings(data_dir=tmp_path), ws_url)
    yield base, tokens
    server.should_exit = True
    thread.join(timeout=10)


def _post(base: str, token: str, body) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.post(f"{base}/api/readings", json=body, headers=headers, timeout=30)


def test_gateway_posts_readings(api, ws_url: str) -> None:
    base, tokens = api
    body = [
        {"point": "dam1-gp1", "tm": "2026-06-07T08:55:00+08:00", "value": 1.5},
        {"point": "dam1-pl", "tm": "2026-06-07T00:55:00Z", "value": 312.5, "flag": "C"},
        {"point": "dam1-pl", "tm": "2026-06-07T00:56:00Z", "value": 312.6, "flag": "X"},
        {"point": "gone", "tm": "2026-06-07T00:55:00Z", "value": 1},
    ]
    r = _post(base, tokens["integration"], body)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert (doc["stored"], doc["duplicates"]) == (2, 0)
    assert [(x["record"], x["field"]) for x in doc["refused"]] == [
        ("item 3", "flag"),
        ("reading 3", "point"),  # the third good item: "gone"
    ]
    assert doc["refused"][1]["reason"] == "unknown point 'gone'"
    again = _post(base, tokens["integration"], body[:1]).json()
    assert (again["stored"], again["duplicates"]) == (0, 1)
    t = datetime(2026, 6, 7, 0, 55, tzinfo=UTC)
    with psycopg.connect(ws_url) as conn:
        rows = conn.execute("SELECT point_n, tm, value, flag FROM ws_reading ORDER BY 1").fetchall()
        q = conn.execute(
            "SELECT l.kind, q.field FROM quarantine q JOIN ingest_log l ON l.id = q.ingest_id"
            " ORDER BY q.id"
        ).fetchall()
    assert rows == [(POINT_N["dam1-gp1"], t, 1.5, "N"), (POINT_N["dam1-pl"], t, 312.5, "C")]
    assert q == [("http", "flag"), ("http", "point")]


def test_nothing_good_is_422_and_other_roles_are_refused(api, ws_url: str) -> None:
    base, tokens = api
    bad = _post(base, tokens["integration"], {"point": "dam1-gp1", "tm": "2026-06-07T08:55"})
    assert bad.status_code == 422
    assert [x["field"] for x in bad.json()["detail"]] == ["tm"]  # its first fault: no offset
    # well-formed readings of points nobody configured: not found, and quarantined as well
    gone = _post(base, tokens["integration"], {"point": "gone", "tm": "2026-06-07T08:55+08:00",
                                               "value": 1.0})  # fmt: skip
    assert gone.status_code == 404 and "gone" in gone.json()["detail"]
    assert _post(base, tokens["reporter"], []).status_code == 403
    assert httpx.post(f"{base}/api/readings", json=[], timeout=30).status_code == 401
    with psycopg.connect(ws_url) as conn:
        assert conn.execute("SELECT count(*) FROM ws_reading").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM quarantine").fetchone() == (2,)
