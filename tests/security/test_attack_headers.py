"""Security headers and inline scripts: every HTML page the service serves, and every API answer.

- Each HTML page (the console, wall map and resource map as built in api/webapp, Swagger UI at
  /docs, the daily duty report) carries a Content-Security-Policy under which no inline script,
  eval or foreign script runs and other sites cannot frame it, plus ``nosniff`` and a
  Referrer-Policy; the page itself has no inline script (so the policy costs it nothing) and
  every script it loads is served as JavaScript.
- The page sources in web/ (vite builds api/webapp from them) have no inline script either.
- Every API answer, whatever its status (JSON, GeoJSON, tiles, 401/404/422), carries
  ``X-Content-Type-Options: nosniff``, found by walking /openapi.json.
- A hand-over note carrying markup reaches the duty report escaped (stored XSS), and the
  report's policy would refuse a script anyway.

tests/api/test_session_and_web.py checks the headers of stand-in pages; here the real ones.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx
import pytest

from riskmap.api.web import web_dir
from tests.security.conftest import Server

ROOT = Path(__file__).resolve().parents[2]
PAGES = ["/", "/index.html", "/wall", "/wall.html", "/resources", "/resources.html", "/docs"]
REPORT = "/api/duty/report?date=2026-07-14&format=html&county=431226"
XSS = '<script>alert("xss")</script><img src=x onerror="alert(1)">'
UNSAFE_SOURCES = ("'unsafe-inline'", "'unsafe-eval'", "data:", "blob:", "*", "http:", "https:")


@pytest.fixture(scope="module")
def api(make_server) -> Server:
    return make_server(write_rate_limit="100000/minute")  # the package's built pages


def policy_of(response: httpx.Response) -> dict[str, list[str]]:
    text = response.headers.get("content-security-policy")
    assert text, f"{response.url}: no Content-Security-Policy"
    out = {}
    for directive in filter(None, (d.strip() for d in text.split(";"))):
        name, *sources = directive.split()
        out[name.lower()] = sources
    return out


def check_page_headers(r: httpx.Response) -> None:
    where = r.url.path
    assert r.headers.get("x-content-type-options") == "nosniff", where
    assert r.headers.get("referrer-policy") in ("same-origin", "strict-origin", "no-referrer"), (
        where
    )
    policy = policy_of(r)
    scripts = policy.get("script-src", policy.get("default-src"))
    assert scripts is not None, f"{where}: scripts unrestricted"
    assert not set(scripts) & set(UNSAFE_SOURCES), f"{where}: script-src {scripts}"
    assert policy.get("frame-ancestors") in (["'self'"], ["'none'"]), f"{where}: framing"
    objects = policy.get("object-src", policy.get("default-src"))
    assert objects in (["'none'"], ["'self'"]), f"{where}: object-src {objects}"
    assert "base-uri" in policy, f"{where}: base-uri"


class Scripts(HTMLParser):
    """The page's script elements, event-handler attributes and javascript: URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []
        self.inline: list[str] = []
        self.handlers: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append(f"<{tag} {name}>")
            url = (value or "").strip().lower()
            if name in ("href", "src", "action", "formaction") and url.startswith("javascript:"):
                self.handlers.append(f"<{tag} {name}={value}>")
        if tag == "script":
            self._in_script = True
            if a.get("src"):
                self.sources.append(a["src"])
            elif (a.get("type") or "").lower() not in ("application/json", "application/ld+json"):
                self.inline.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append(data.strip()[:80])


def scripts_of(html: str) -> Scripts:
    parser = Scripts()
    parser.feed(html)
    return parser


def test_every_page_has_a_policy_and_no_inline_script(api: Server) -> None:
    built = (web_dir(api.server.config.app.state.settings) / "index.html").is_file()
    admin = {"Authorization": f"Bearer {api.tokens['admin']}"}
    with httpx.Client(base_url=api.base_url, timeout=60) as client:
        for path in [*PAGES, REPORT]:
            r = client.get(path, headers=admin)
            assert r.status_code == (200 if built or path in ("/docs", REPORT) else 503), path
            assert r.headers["content-type"].startswith("text/html"), path
            check_page_headers(r)
            found = scripts_of(r.text)
            assert not found.inline, f"{path}: inline scripts {found.inline}"
            assert not found.handlers, f"{path}: inline handlers {found.handlers}"
            for src in found.sources:
                assert not urlsplit(src).netloc, f"{path}: foreign script {src}"
                js = client.get(src)
                assert js.status_code == 200, src
                assert "javascript" in js.headers["content-type"], (src, js.headers)
                assert js.headers.get("x-content-type-options") == "nosniff", src
            if path == "/" and built:
                assert found.sources, "the console loads no script?"


def test_page_sources_have_no_inline_script() -> None:
    sources = sorted((ROOT / "web").glob("*.html"))
    assert {p.name for p in sources} >= {"index.html", "wall.html", "resources.html"}
    for page in sources:
        found = scripts_of(page.read_text(encoding="utf-8"))
        assert not found.inline and not found.handlers, (page.name, found.inline, found.handlers)


def _valid(param: dict) -> str:
    schema = param.get("schema", {})
    examples = param.get("examples") or schema.get("examples")
    if examples:
        return "x" if isinstance(examples, dict) else str(next(iter(examples)))
    options = schema.get("anyOf", [schema])
    return "1" if any(o.get("type") == "integer" for o in options) else "0"


def test_every_api_answer_says_nosniff(api: Server) -> None:
    spec = httpx.get(f"{api.base_url}/openapi.json", timeout=30).json()
    seen, missing = {}, []
    with httpx.Client(base_url=api.base_url, timeout=60) as client:
        for path, ops in spec["paths"].items():
            for method, op in ops.items():
                url = path
                for p in op.get("parameters", []):
                    if p["in"] == "path":
                        url = url.replace("{" + p["name"] + "}", quote(_valid(p), safe=""))
                body = {} if method == "get" else {"json": {}}
                for who in (None, "admin"):
                    headers = {"Authorization": f"Bearer {api.tokens[who]}"} if who else {}
                    with client.stream(method.upper(), url, headers=headers, **body) as r:
                        seen[r.status_code] = seen.get(r.status_code, 0) + 1
                        if r.headers.get("x-content-type-options") != "nosniff":
                            missing.append(f"{method.upper()} {url} ({who}): {r.status_code}")
        for extra in ["/no/such/thing", "/api/reports/1/photos/1", "/docs-assets/swagger-ui.css"]:
            r = client.get(extra)
            if r.headers.get("x-content-type-options") != "nosniff":
                missing.append(f"GET {extra}: {r.status_code}")
    assert not missing, "\n".join(missing)
    assert {200, 401, 404, 422} <= set(seen), seen  # answers of every kind were looked at


def test_a_hand_over_note_reaches_the_duty_report_escaped(api: Server) -> None:
    note = {
        "org_code": "431226",
        "shift_change": "2026-07-14T08:00:00+08:00",
        "text": f"交班 {XSS}",
        "open_items": [XSS],
    }
    forecaster = {"Authorization": f"Bearer {api.tokens['forecaster']}"}
    r = httpx.post(f"{api.base_url}/api/duty/handovers", json=note, headers=forecaster)
    assert r.status_code == 201, r.text
    report = httpx.get(f"{api.base_url}{REPORT}", headers=forecaster, timeout=60)
    assert report.status_code == 200
    assert "交班" in report.text and XSS not in report.text
    assert "&lt;script&gt;" in report.text
    found = scripts_of(report.text)
    assert not found.inline and not found.sources and not found.handlers
    policy = policy_of(report)
    assert policy.get("script-src", policy.get("default-src")) == ["'none'"]
