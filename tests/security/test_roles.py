"""Every role against every write route of the API, from a table written out by hand.

The table follows the product's promises (README: forecasters review all but cancel; commanders
and admins do everything; reporters post field reports; commander actions on responses are
commander and admin; …), not ``riskmap.api.users.PERMISSIONS``. A write route that is not in
the table fails the test, so a new route cannot slip in without a decision on who may use it.

Expected outcomes: 401 without a token; 403 for a role that may not; for a role that may, any
answer but 401/403 (the ids below do not exist and the bodies are empty, so the handler answers
404, 409 or 422 after the role check let the caller through).
"""

from __future__ import annotations

import httpx
import pytest
from fastapi.routing import APIRoute

from tests.security.conftest import ROLES, Server

VIEWER, REPORTER, FORECASTER, COMMANDER, ADMIN, INTEGRATION = ROLES
NOBODY: frozenset[str] = frozenset()
REVIEW = frozenset({FORECASTER, COMMANDER, ADMIN})  # README: forecaster all review but cancel
COMMAND = frozenset({COMMANDER, ADMIN})  # README: cancel; response actions "(commander, admin)"
FIELD = frozenset({REPORTER, FORECASTER, COMMANDER, ADMIN})  # people who report and do tasks
ANY_TOKEN = frozenset(ROLES)
SIGNED = "signed"  # the credential is a signature; a bearer token of any role is not enough
PUBLIC = "public"  # signing in needs no token

W = 999_999_999  # ids that exist nowhere

# (method, route template) -> (concrete path, roles that may, or SIGNED / PUBLIC)
TABLE: dict[tuple[str, str], tuple[str, frozenset[str] | str]] = {
    ("POST", "/api/warnings"): ("/api/warnings", REVIEW),
    ("POST", "/api/warnings/{warning_id}/issue"): (f"/api/warnings/{W}/issue", REVIEW),
    ("POST", "/api/warnings/{warning_id}/edit"): (f"/api/warnings/{W}/edit", REVIEW),
    ("POST", "/api/warnings/{warning_id}/reject"): (f"/api/warnings/{W}/reject", REVIEW),
    ("POST", "/api/warnings/{warning_id}/escalate"): (f"/api/warnings/{W}/escalate", REVIEW),
    ("POST", "/api/warnings/{warning_id}/cancel"): (f"/api/warnings/{W}/cancel", COMMAND),
    ("POST", "/api/reports"): ("/api/reports", FIELD),
    ("POST", "/api/reports/{report_id}/verify"): (f"/api/reports/{W}/verify", REVIEW),
    ("POST", "/api/responses/{response_id}/start"): (f"/api/responses/{W}/start", COMMAND),
    ("POST", "/api/responses/{response_id}/raise"): (f"/api/responses/{W}/raise", COMMAND),
    ("POST", "/api/responses/{response_id}/lower"): (f"/api/responses/{W}/lower", COMMAND),
    ("POST", "/api/responses/{response_id}/end"): (f"/api/responses/{W}/end", COMMAND),
    ("POST", "/api/responses/{response_id}/proposals/{proposal_id}/{decision}"): (
        f"/api/responses/{W}/proposals/{W}/accept",
        COMMAND,
    ),
    ("POST", "/api/responses/{response_id}/tasks/{task_id}"): (
        f"/api/responses/{W}/tasks/{W}",
        FIELD,
    ),
    ("POST", "/api/duty/handovers"): ("/api/duty/handovers", REVIEW),  # duty officers
    ("DELETE", "/api/session"): ("/api/session", ANY_TOKEN),  # sign out
    ("POST", "/api/session"): ("/api/session", PUBLIC),
    ("POST", "/api/broadcasts/{broadcast_id}/ack"): (f"/api/broadcasts/{W}/ack", SIGNED),
    ("POST", "/api/drills/{drill_id}/broadcasts/{broadcast_id}/ack"): (
        f"/api/drills/{W}/broadcasts/{W}/ack",
        SIGNED,  # the signature is checked before the drill is looked up: 401, not 404
    ),
    ("POST", "/api/sms/receipts"): ("/api/sms/receipts", SIGNED),
    # monitoring devices' gateways post readings with an integration token (issue 21)
    ("POST", "/api/readings"): ("/api/readings", frozenset({INTEGRATION, ADMIN})),
}
# The other proposal decision is the same route; checked too.
EXTRA = {("POST", f"/api/responses/{W}/proposals/{W}/dismiss"): COMMAND}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

CASES = [(m, path, allowed) for (m, _), (path, allowed) in TABLE.items() if allowed != PUBLIC]
CASES += [(m, path, allowed) for (m, path), allowed in EXTRA.items()]


@pytest.fixture(scope="module")
def api(make_server) -> Server:
    return make_server(write_rate_limit="10000/minute")


def test_every_write_route_is_in_the_hand_table(api: Server) -> None:
    app = api.server.config.app
    routes = {
        (m, r.path)
        for r in app.routes
        if isinstance(r, APIRoute)
        for m in r.methods & WRITE_METHODS
    }
    spec = httpx.get(f"{api.base_url}/openapi.json").json()["paths"]
    documented = {(m.upper(), p) for p, ops in spec.items() for m in ops}
    documented = {(m, p) for m, p in documented if m in WRITE_METHODS}
    assert routes | documented == set(TABLE), (
        f"write routes without a row: {sorted((routes | documented) - set(TABLE))};"
        f" rows without a route: {sorted(set(TABLE) - (routes | documented))}"
    )


def _call(api: Server, method: str, path: str, role: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {api.tokens[role]}"} if role else {}
    kw = {} if method == "DELETE" else {"json": {}}
    return httpx.request(method, api.base_url + path, headers=headers, timeout=30, **kw)


IDS = [f"{m} {p}" for m, p, _ in CASES]


@pytest.mark.parametrize(("method", "path", "allowed"), CASES, ids=IDS)
def test_roles_on_write_route(api: Server, method: str, path: str, allowed) -> None:
    got = {None: _call(api, method, path, None).status_code}
    got |= {role: _call(api, method, path, role).status_code for role in ROLES}
    expected = {None: 401}
    for role in ROLES:
        if allowed == SIGNED:
            expected[role] = 401
        else:
            expected[role] = "allowed" if role in allowed else 403
    passed = {r: c not in (401, 403) and expected[r] == "allowed" for r, c in got.items()}
    seen = {r: "allowed" if passed[r] else c for r, c in got.items()}
    assert seen == expected, f"{method} {path}: {got}"
    assert all(c < 500 for c in got.values()), got


def test_sign_in_is_public_and_wrong_passwords_are_401(api: Server) -> None:
    r = httpx.post(f"{api.base_url}/api/session", json={"name": "sec-admin", "password": "x" * 12})
    assert r.status_code == 401, r.text


def test_a_forged_or_revoked_token_is_401_not_403(api: Server) -> None:
    r = httpx.post(
        f"{api.base_url}/api/warnings/{W}/cancel",
        headers={"Authorization": "Bearer rm_" + "A" * 43},
        json={},
    )
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
