"""SQL injection through every parameter the API documents, found by walking /openapi.json.

Every query, header and path parameter of every operation gets classic payloads (quotes that
close a literal, stacked statements, tautologies, unicode quotes, NUL, very long strings), as an
admin, so the role checks let each request reach its queries. Afterwards nothing may have
changed in the database:

- a sequence ``attack_canary`` that most payloads call ``nextval`` on: sequences are not
  transactional, so an injected expression that ran even once, in a statement later rolled back
  or refused, leaves ``is_called`` true;
- a sentinel table the stacked payloads try to drop, and the row counts and users' roles of the
  tables an attacker would want (warnings, outbox, users, tokens, reports, responses);
- no answer is a 5xx, and none carries a database error or a traceback (error-based probing).
"""

from __future__ import annotations

import re
from urllib.parse import quote

import httpx
import psycopg
import pytest

from tests.security.conftest import Server

CANARY = "nextval('attack_canary')"
# Each is sent as the whole value of one parameter at a time.
PAYLOADS = [
    "' OR '1'='1",
    "' OR '1'='1' --",
    "1;DROP TABLE attack_sentinel;--",
    "1';DROP TABLE attack_sentinel;--",
    "%27",
    "%27%20OR%201=1--",
    "\u2019 OR \u20181\u2019=\u20181",  # typographic quotes
    "\u2019 OR 1=1--",
    "\u02bc OR 1=1--",  # modifier letter apostrophe (folded to ' by some normalisers)
    "\uff07 OR 1=1--",  # fullwidth apostrophe
    f"x' || {CANARY}::text || '",
    f"1 OR {CANARY} > 0",
    f"1) OR {CANARY} > 0 --",
    f"') OR {CANARY} > 0 --",
    f"'; SELECT {CANARY}; --",
    f'"; SELECT {CANARY}; --',
    f"1; SELECT {CANARY}; --",
    f"$$; SELECT {CANARY}; --",
    f"\\'; SELECT {CANARY}; --",
    f"issued,' OR {CANARY} > 0 --",  # inside a comma-separated filter
    f"2026-07-14T00:00:00Z' OR {CANARY} > 0 --",  # where a time is expected
    f"109.6,27.6,109.8,27.8' OR {CANARY} > 0 --",  # where a bbox is expected
    f"431226'||{CANARY}||'",
    "%",
    "_",
    "\\",
    "a\x00b",  # NUL: PostgreSQL text cannot hold it
    "'" * 300,
    "A" * 5000 + "'",  # very long
]
SIGN_IN_PAYLOADS = {"' OR '1'='1' --", f"'; SELECT {CANARY}; --", "a\x00b", "\u2019 OR 1=1--"}
# A parameter that is not a string is refused by validation before any query: fewer payloads.
TYPED_PAYLOADS = ["' OR '1'='1", f"1 OR {CANARY} > 0", "1;DROP TABLE attack_sentinel;--"]

# Tables whose row counts must not move (reads and refused writes add nothing to them).
COUNTED = (
    "warning",
    "warning_version",
    "warning_audit",
    "outbox",
    "app_user",
    "api_token",
    "field_report",
    "response",
    "duty_handover",
    "terminal_key",
    "drill",
    "village_version",
)
LEAKS = re.compile(
    r"psycopg|SQLSTATE|syntax error at or near|unterminated quoted|Traceback \(most recent"
    r"|current transaction is aborted|LINE \d+:",
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def api(make_server) -> Server:
    server = make_server(write_rate_limit="1000000/minute", login_rate_limit="1000000/minute")
    with psycopg.connect(server.db_url) as conn:
        conn.execute("CREATE SEQUENCE attack_canary")
        conn.execute("CREATE TABLE attack_sentinel (note text)")
        conn.execute("INSERT INTO attack_sentinel VALUES ('still here')")
    return server


def snapshot(db_url: str) -> dict:
    with psycopg.connect(db_url) as conn:
        out = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in COUNTED}
        out["roles"] = conn.execute(
            "SELECT string_agg(name || ':' || role || ':' || active, ',' ORDER BY name)"
            " FROM app_user"
        ).fetchone()[0]
        out["canary called"] = conn.execute("SELECT is_called FROM attack_canary").fetchone()[0]
        kept = conn.execute("SELECT to_regclass('attack_sentinel')").fetchone()[0]
        out["sentinel"] = (
            conn.execute("SELECT note FROM attack_sentinel").fetchall() if kept else None
        )
        out["public tables"] = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ).fetchone()[0]
    return out


def _schema_type(schema: dict) -> str:
    """The JSON type a parameter takes ('string' when a string is among its choices)."""
    options = schema.get("anyOf", [schema])
    types = {o.get("type") for o in options} - {"null"}
    if "string" in types and not any("enum" in o or "const" in o for o in options):
        return "string"
    return "typed"


def _valid(param: dict) -> str:
    """A harmless value for the path parameters not under attack."""
    schema = param.get("schema", {})
    examples = param.get("examples") or schema.get("examples")
    if isinstance(examples, dict):
        examples = [v.get("value") for v in examples.values()]
    if examples:
        return str(examples[0])
    options = schema.get("anyOf", [schema])
    if any(o.get("type") == "integer" for o in options):
        return "1"
    return {"code": "431226100200", "fmt": "wav", "decision": "accept"}.get(param["name"], "0")


def _cases(spec: dict) -> list[tuple[str, str, dict, list[str]]]:
    """(method, path template, parameter, payloads) for every documented parameter."""
    cases = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            for param in op.get("parameters", []):
                typed = _schema_type(param.get("schema", {}))
                payloads = PAYLOADS if typed == "string" else TYPED_PAYLOADS
                cases.append((method.upper(), path, param, payloads))
    return cases


def _send(client: httpx.Client, method: str, path: str, op_params, param, value) -> httpx.Response:
    """One request with ``value`` as ``param``; other path parameters get harmless values."""
    url = path
    for p in op_params:
        if p["in"] != "path":
            continue
        raw = value if p is param else _valid(p)
        url = url.replace("{" + p["name"] + "}", quote(raw, safe=""))
    query, headers = {}, {}
    if param["in"] == "query":
        query[param["name"]] = value
    elif param["in"] == "header":
        headers[param["name"]] = value.replace("\x00", "").encode("utf-8")
    body = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
    with client.stream(method, url, params=query, headers=headers, **body) as r:
        if r.headers.get("content-type", "").startswith("text/event-stream"):
            return r  # a live stream: its status is all we need
        r.read()
        return r


def test_every_parameter_of_every_route_shrugs_off_injection(api: Server) -> None:
    spec = httpx.get(f"{api.base_url}/openapi.json", timeout=30).json()
    cases = _cases(spec)
    # the walk covers the filters and ids it must: a route added later is walked too
    names = {(path, p["name"]) for _, path, p, _ in cases}
    for must in [
        ("/api/warnings", "hazard"),
        ("/api/warnings", "bbox"),
        ("/api/reports", "bbox"),
        ("/api/responses", "plan"),
        ("/ogc/collections/{collection_id}/items", "collection_id"),
        ("/ogc/collections/{collection_id}/items/{feature_id}", "feature_id"),
        ("/api/villages/{code}", "code"),
        ("/tiles/{layer}/{z}/{x}/{y}.mvt", "layer"),
        ("/tiles/{layer}.json", "token"),
        ("/api/broadcasts/{broadcast_id}/audio.{fmt}", "fmt"),
        ("/api/responses/{response_id}/proposals/{proposal_id}/{decision}", "decision"),
    ]:
        assert must in names, f"{must} not walked"
    assert len(cases) >= 80, len(cases)

    before = snapshot(api.db_url)
    assert before["canary called"] is False and before["sentinel"] == [("still here",)]
    ops = {
        (m.upper(), p): op.get("parameters", [])
        for p, o in spec["paths"].items()
        for m, op in o.items()
    }
    failures = []
    auth = {"Authorization": f"Bearer {api.tokens['admin']}"}
    with httpx.Client(base_url=api.base_url, headers=auth, timeout=60) as client:
        for method, path, param, payloads in cases:
            for value in payloads:
                r = _send(client, method, path, ops[(method, path)], param, value)
                where = f"{method} {path} {param['in']}:{param['name']}={value[:60]!r}"
                if r.status_code >= 500:
                    failures.append(
                        f"{where}: {r.status_code} {r.text[:200] if r.is_stream_consumed else ''}"
                    )
                elif r.is_stream_consumed and LEAKS.search(r.text):
                    failures.append(f"{where}: database error in the answer: {r.text[:300]}")
    after = snapshot(api.db_url)
    assert not failures, "\n".join(failures[:40])
    assert after == before


def test_sign_in_and_token_lookups_take_payloads_as_data(api: Server) -> None:
    """The two places a string reaches a query before any role check: the sign-in name and
    the bearer token itself."""
    before = snapshot(api.db_url)
    with httpx.Client(base_url=api.base_url, timeout=30) as client:
        for value in PAYLOADS:
            if value in SIGN_IN_PAYLOADS:  # each failed sign-in costs an argon2 hash: a few
                body = {"name": value[:64], "password": value[:1000]}
                r = client.post("/api/session", json=body)
                assert r.status_code in (401, 422), (value, r.status_code, r.text[:200])
            token = value.replace("\x00", "").encode("utf-8")
            r = client.get("/api/me", headers={"Authorization": b"Bearer " + token})
            assert r.status_code == 401, (value, r.status_code, r.text[:200])
            r = client.get("/tiles/villages.json", params={"token": value})
            assert r.status_code == 401, (value, r.status_code, r.text[:200])
    assert snapshot(api.db_url) == before
