"""Signing in with a password (`POST /api/session`) and the built web pages, against servers of
their own over the test service's database: one with a small built web folder and a low limit of
failed sign-ins, one whose web folder is empty (the pages were never built).

Each test signs in from client addresses of its own (``X-Forwarded-For``, which uvicorn trusts
from 127.0.0.1 as it would from a reverse proxy on the same machine), so the per-address limit
of one test does not throttle another.
"""

from __future__ import annotations

import itertools
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest
from argon2 import PasswordHasher
from psycopg.rows import dict_row

from riskmap.api.cli.demo import demo_token
from riskmap.api.passwords import check_password
from riskmap.api.users import add_user, new_token
from riskmap.api.web import web_dir
from riskmap.geo.settings import Settings
from tests.api.conftest import start_server
from tests.api.test_cli_and_service import RISKMAP, ROOT, clean_env
from tests.api.test_warnings_api import make_warning

WRONG = {"detail": "用户名或密码错误 Wrong name or password"}
LIMIT = 5  # failed sign-ins per name and per address in the test server
_addresses = (f"198.51.100.{i}" for i in itertools.count(1))  # TEST-NET-2, one per use


def from_new_address() -> dict[str, str]:
    return {"X-Forwarded-For": next(_addresses)}


PAGES = {
    "index.html": "<!doctype html><title>控制台</title><script src=/assets/app-abc123.js></script>",
    "wall.html": "<!doctype html><title>大屏</title>",
    "resources.html": "<!doctype html><title>应急资源一张图</title>",
}
SCRIPT = "console.log('riskmap');\n"
FAVICON = '<svg xmlns="http://www.w3.org/2000/svg"/>'
GLYPHS = b"\x0a\x00pbf"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A web folder as the vite build leaves it: pages, hashed assets, other top-level files."""
    root = tmp_path_factory.mktemp("webapp")
    for name, text in PAGES.items():
        (root / name).write_text(text, encoding="utf-8")
    (root / "assets").mkdir()
    (root / "assets" / "app-abc123.js").write_text(SCRIPT, encoding="utf-8")
    (root / "favicon.svg").write_text(FAVICON, encoding="utf-8")
    (root / "fonts" / "Noto Sans Regular").mkdir(parents=True)
    (root / "fonts" / "Noto Sans Regular" / "0-255.pbf").write_bytes(GLYPHS)
    return root


def serve(service, tmp_path_factory, web: Path) -> Iterator[str]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("session-data"),
        web_dir=web,
        login_rate_limit=f"{LIMIT}/15 minutes",
        write_rate_limit="1000/minute",
    )
    base, server, thread = start_server(settings, service.db_url)
    yield base
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def site(service, tmp_path_factory, built: Path) -> Iterator[str]:
    """Base URL of a server with the built pages."""
    yield from serve(service, tmp_path_factory, built)


@pytest.fixture(scope="module")
def unbuilt_site(service, tmp_path_factory) -> Iterator[str]:
    """Base URL of a server whose web folder is empty."""
    yield from serve(service, tmp_path_factory, tmp_path_factory.mktemp("empty-webapp"))


def passwd(db_url: str, name: str, password: str) -> subprocess.CompletedProcess:
    """`riskmap users passwd NAME --password-stdin`, for real."""
    return subprocess.run(
        [RISKMAP, "users", "passwd", name, "--password-stdin"],
        input=password + "\n",
        env=clean_env(RISKMAP_DATABASE_URL=db_url),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )


def user_with_password(db_url: str, name: str, role: str, password: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        add_user(conn, name, role, display_name=f"测试 {name}")
    done = passwd(db_url, name, password)
    assert done.returncode == 0, done.stderr


def unwarned_village(db_url: str) -> str:
    """A village no rainstorm warning names yet: a new rainstorm candidate there awaits review
    (over villages an issued one covers, it would yield)."""
    with psycopg.connect(db_url) as conn:
        (code,) = conn.execute(
            """SELECT code FROM village
               WHERE code NOT IN (SELECT unnest(village_codes) FROM warning
                                  WHERE hazard = 'rainstorm')
               ORDER BY code DESC LIMIT 1"""
        ).fetchone()
    return code


def sign_in(base: str, name: str, password: str, headers: dict | None = None) -> httpx.Response:
    body = {"name": name, "password": password}
    return httpx.post(f"{base}/api/session", json=body, headers=headers or {}, timeout=30)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- signing in ---------------------------------------------------------------------------------


def test_passwd_then_sign_in_gives_a_working_token(service, site: str) -> None:
    user_with_password(service.db_url, "pw.forecaster", "forecaster", "wolong-creek-88")
    asked = datetime.now(UTC)
    r = sign_in(site, "pw.forecaster", "wolong-creek-88", from_new_address())
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"token", "name", "role", "display_name", "permissions", "expires_at"}
    assert (body["name"], body["role"], body["display_name"]) == (
        "pw.forecaster",
        "forecaster",
        "测试 pw.forecaster",
    )
    # README: forecasters read, report, review and verify, write duty hand-over notes and work
    # response tasks; cancelling is for commanders
    assert sorted(body["permissions"]) == ["duty", "read", "report", "review", "task", "verify"]
    assert body["token"].startswith("rm_") and len(body["token"]) == 46
    expires = datetime.fromisoformat(body["expires_at"])
    assert abs(expires - (asked + timedelta(hours=12))) < timedelta(minutes=1)
    with psycopg.connect(service.db_url) as conn:
        rows = conn.execute(
            "SELECT label, expires_at FROM api_token WHERE user_name = 'pw.forecaster'"
        ).fetchall()
    assert [label for label, _ in rows] == ["session"]
    assert abs(rows[0][1] - expires) < timedelta(seconds=1)
    me = httpx.get(f"{site}/api/me", headers=bearer(body["token"]), timeout=30)
    assert me.status_code == 200 and me.json()["name"] == "pw.forecaster"
    # the same token works on the shared service too: it is an ordinary API token
    with service.client(headers=bearer(body["token"])) as c:
        assert c.get("/api/me").json()["role"] == "forecaster"


def test_session_token_reviews_according_to_role(service, site: str) -> None:
    user_with_password(service.db_url, "pw.reviewer", "forecaster", "huaihua-rain-2026")
    user_with_password(service.db_url, "pw.viewer", "viewer", "jinjiang-river-7")
    forecaster = sign_in(site, "pw.reviewer", "huaihua-rain-2026", from_new_address()).json()
    viewer = sign_in(site, "pw.viewer", "jinjiang-river-7", from_new_address()).json()
    candidate = make_warning(service.db_url, [unwarned_village(service.db_url)], colour="red")
    preview = f"{site}/api/warnings/{candidate}.cap"
    r = httpx.get(preview, params={"draft": 1}, headers=bearer(forecaster["token"]), timeout=30)
    assert r.status_code == 200 and "<status>Draft</status>" in r.text
    r = httpx.get(preview, params={"draft": 1}, headers=bearer(viewer["token"]), timeout=30)
    assert r.status_code == 403
    assert viewer["permissions"] == ["read"]


def test_every_failure_is_the_same_401(service, site: str) -> None:
    user_with_password(service.db_url, "pw.right", "viewer", "correct-horse-9")
    with psycopg.connect(service.db_url, autocommit=True) as conn:
        add_user(conn, "pw.nopassword", "viewer")
    user_with_password(service.db_url, "pw.gone", "viewer", "left-the-bureau")
    with psycopg.connect(service.db_url, autocommit=True) as conn:
        conn.execute("UPDATE app_user SET active = false WHERE name = 'pw.gone'")
    attempts = [
        ("pw.right", "correct-horse-8"),  # wrong password
        ("pw.nobody", "correct-horse-9"),  # unknown user
        ("pw.nopassword", "correct-horse-9"),  # no password set
        ("pw.gone", "left-the-bureau"),  # right password, inactive user
        ("PW.RIGHT", "correct-horse-9"),  # names are exact
    ]
    for name, password in attempts:
        r = sign_in(site, name, password, from_new_address())
        assert (r.status_code, r.json()) == (401, WRONG), name
    assert sign_in(site, "pw.right", "correct-horse-9", from_new_address()).status_code == 200


def test_sign_out_revokes_that_token_only(service, site: str) -> None:
    user_with_password(service.db_url, "pw.leaver", "viewer", "signing-out-now")
    first = sign_in(site, "pw.leaver", "signing-out-now", from_new_address()).json()["token"]
    second = sign_in(site, "pw.leaver", "signing-out-now", from_new_address()).json()["token"]
    out = httpx.delete(f"{site}/api/session", headers=bearer(first), timeout=30)
    assert out.status_code == 204 and out.content == b""
    assert httpx.get(f"{site}/api/me", headers=bearer(first), timeout=30).status_code == 401
    assert httpx.delete(f"{site}/api/session", headers=bearer(first)).status_code == 401
    assert httpx.get(f"{site}/api/me", headers=bearer(second), timeout=30).status_code == 200
    assert httpx.delete(f"{site}/api/session", timeout=30).status_code == 401  # no token
    # a script's API token is not a sign-in: signing out with it is refused and it keeps working
    with psycopg.connect(service.db_url, autocommit=True) as conn:
        script = new_token(conn, "pw.leaver", label="cron")
    refused = httpx.delete(f"{site}/api/session", headers=bearer(script), timeout=30)
    assert refused.status_code == 409 and "riskmap users revoke" in refused.json()["detail"]
    assert httpx.get(f"{site}/api/me", headers=bearer(script), timeout=30).status_code == 200


def test_failed_sign_ins_per_name_are_limited(service, site: str) -> None:
    user_with_password(service.db_url, "pw.target", "viewer", "the-real-one-1")
    for _ in range(LIMIT):  # each from another address: only the name's count reaches the limit
        assert sign_in(site, "pw.target", "a-guess-0000", from_new_address()).status_code == 401
    blocked = sign_in(site, "pw.target", "the-real-one-1", from_new_address())
    assert blocked.status_code == 429, blocked.text
    assert 0 < int(blocked.headers["retry-after"]) <= 15 * 60
    assert "Too many failed sign-ins" in blocked.json()["detail"]
    # other names are not held up
    user_with_password(service.db_url, "pw.bystander", "viewer", "not-involved-2")
    ok = sign_in(site, "pw.bystander", "not-involved-2", from_new_address())
    assert ok.status_code == 200


def test_failed_sign_ins_per_address_are_limited(service, site: str) -> None:
    user_with_password(service.db_url, "pw.sprayed", "viewer", "sprayed-but-safe")
    address = from_new_address()
    for i in range(LIMIT):  # one guess each for many names, from one address
        assert sign_in(site, f"pw.spray{i}", "summer-2026!", address).status_code == 401
    assert sign_in(site, "pw.sprayed", "sprayed-but-safe", address).status_code == 429
    assert sign_in(site, "pw.sprayed", "sprayed-but-safe", from_new_address()).status_code == 200


def test_weak_hash_is_replaced_at_sign_in(service, site: str) -> None:
    old = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("upgrade-me-please")
    with psycopg.connect(service.db_url, autocommit=True) as conn:
        add_user(conn, "pw.old", "viewer")
        conn.execute("UPDATE app_user SET password_hash = %s WHERE name = 'pw.old'", [old])
    assert sign_in(site, "pw.old", "upgrade-me-please", from_new_address()).status_code == 200
    # the request's transaction commits as the answer goes out: under load, a moment later
    deadline = time.monotonic() + 10
    while True:
        with psycopg.connect(service.db_url) as conn:
            (stored,) = conn.execute(
                "SELECT password_hash FROM app_user WHERE name = 'pw.old'"
            ).fetchone()
        if stored != old or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    # argon2-cffi's defaults, RFC 9106's low-memory profile: 64 MiB, 3 passes, 4 lanes
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$") and stored != old
    assert PasswordHasher().verify(stored, "upgrade-me-please")


def test_bad_bodies_are_422(site: str) -> None:
    for body in ({"name": "x"}, {"name": "x", "password": "y" * 1001}, {"user": "x"}):
        r = httpx.post(f"{site}/api/session", json=body, headers=from_new_address(), timeout=30)
        assert r.status_code == 422, body


# -- the web pages ------------------------------------------------------------------------------


def test_pages_are_served_with_security_headers(site: str) -> None:
    for path, name in [
        ("/", "index.html"),
        ("/index.html", "index.html"),
        ("/wall", "wall.html"),
        ("/wall.html", "wall.html"),
        ("/resources", "resources.html"),
        ("/resources.html", "resources.html"),
    ]:
        r = httpx.get(site + path, timeout=30)
        assert r.status_code == 200, path
        assert r.text == PAGES[name]
        assert r.headers["content-type"] == "text/html; charset=utf-8"
        assert r.headers["cache-control"] == "no-cache"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"
        assert "etag" in r.headers and "last-modified" in r.headers
        policy = dict(
            [*d.split(" ", 1), ""][:2] for d in r.headers["content-security-policy"].split("; ")
        )
        assert policy["script-src"] == "'self'"
        assert policy["connect-src"] == "'self'"
        assert policy["img-src"] == "'self' data: blob:"
        assert policy["worker-src"] == "blob:"
        assert policy["style-src"] == "'self' 'unsafe-inline'"
        assert policy["font-src"] == "'self' data:"
    index = httpx.get(site + "/", timeout=30)
    same = httpx.get(site + "/", headers={"If-None-Match": index.headers["etag"]}, timeout=30)
    assert same.status_code == 304 and same.content == b""
    head = httpx.head(site + "/wall", timeout=30)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(PAGES["wall.html"].encode()))


def test_assets_are_immutable_and_other_files_revalidated(site: str) -> None:
    r = httpx.get(site + "/assets/app-abc123.js", timeout=30)
    assert r.status_code == 200 and r.text == SCRIPT
    assert "javascript" in r.headers["content-type"]
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in r.headers  # only HTML documents carry a policy
    assert httpx.get(site + "/assets/app-zzz999.js", timeout=30).status_code == 404
    assert httpx.get(site + "/assets/..%2Fwall.html", timeout=30).status_code == 404
    icon = httpx.get(site + "/favicon.svg", timeout=30)
    assert icon.status_code == 200 and icon.text == FAVICON
    assert icon.headers["content-type"] == "image/svg+xml"
    assert icon.headers["cache-control"] == "no-cache"
    glyphs = httpx.get(site + "/fonts/Noto%20Sans%20Regular/0-255.pbf", timeout=30)
    assert glyphs.status_code == 200 and glyphs.content == GLYPHS
    assert glyphs.headers["cache-control"] == "no-cache"


def test_the_api_is_not_shadowed(service, site: str) -> None:
    token = bearer(service.tokens["viewer"])
    assert httpx.get(site + "/api/me", headers=token, timeout=30).json()["role"] == "viewer"
    assert httpx.get(site + "/healthz", timeout=30).status_code == 200
    assert httpx.get(site + "/docs", timeout=30).status_code == 200
    assert httpx.get(site + "/tiles", headers=token, timeout=30).status_code == 200
    assert httpx.get(site + "/ogc", timeout=30).status_code == 200
    metrics = httpx.get(site + "/metrics", timeout=30)
    assert metrics.status_code == 200 and "riskmap_" in metrics.text
    missing = httpx.get(site + "/api/no-such-thing", timeout=30)
    assert (missing.status_code, missing.json()) == (404, {"detail": "Not Found"})
    assert httpx.post(site + "/", timeout=30).status_code == 405
    paths = httpx.get(site + "/openapi.json", timeout=30).json()["paths"]
    assert "/api/session" in paths and not {"/", "/wall", "/resources"} & set(paths)


def test_unbuilt_pages_answer_503_saying_what_to_do(service, unbuilt_site: str) -> None:
    for path in ("/", "/wall", "/resources.html"):
        r = httpx.get(unbuilt_site + path, timeout=30)
        assert r.status_code == 503, path
        assert r.headers["content-type"] == "text/html; charset=utf-8"
        assert "网页尚未构建" in r.text and "The web pages are not built" in r.text
        assert "make setup" in r.text and "Traceback" not in r.text
        assert r.text.index("网页尚未构建") < r.text.index("The web pages are not built")
        assert "content-security-policy" in r.headers
    assert httpx.get(unbuilt_site + "/assets/app-abc123.js", timeout=30).status_code == 404
    assert httpx.get(unbuilt_site + "/healthz", timeout=30).status_code == 200
    token = bearer(service.tokens["viewer"])
    assert httpx.get(unbuilt_site + "/api/me", headers=token, timeout=30).status_code == 200


def test_web_folder_defaults_to_the_package() -> None:
    assert web_dir(Settings()) == ROOT / "api" / "webapp"
    assert web_dir(Settings(web_dir=Path("/srv/riskmap-web"))) == Path("/srv/riskmap-web")


def test_sign_ins_run_concurrently(service, site: str) -> None:
    """Ten browsers signing in at once all get their own token (hashing is bounded per worker,
    not serialised into failures)."""
    user_with_password(service.db_url, "pw.crowd", "viewer", "wall-screen-01")
    results: list[httpx.Response] = []

    def go(headers: dict[str, str]) -> None:
        results.append(sign_in(site, "pw.crowd", "wall-screen-01", headers))

    threads = [threading.Thread(target=go, args=(from_new_address(),)) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert [r.status_code for r in results] == [200] * 10
    assert len({r.json()["token"] for r in results}) == 10


def test_unknown_names_cost_as_much_as_wrong_passwords(service) -> None:
    """Timing does not tell which names exist: an unknown name runs one argon2 verification too
    (without it, a miss takes a database look-up, a few milliseconds, against ~100 ms)."""
    user_with_password(service.db_url, "pw.timed", "viewer", "the-right-one-3")

    def fastest(name: str, password: str) -> float:
        times = []
        for _ in range(3):
            started = time.perf_counter()
            assert check_password(conn, name, password) is None
            times.append(time.perf_counter() - started)
        return min(times)

    with psycopg.connect(service.db_url, row_factory=dict_row) as conn:
        check_password(conn, "pw.timed", "warm-up-once")  # the dummy hash is made once
        wrong = fastest("pw.timed", "the-wrong-one-3")
        unknown = fastest("pw.nobody-at-all", "the-right-one-3")
    assert wrong > 0.02  # argon2id with 64 MiB: tens of milliseconds at least
    assert unknown > wrong / 2, (unknown, wrong)


def test_demo_accounts_sign_in_with_the_printed_passwords(service, site: str, capsys) -> None:
    for _ in range(2):  # `riskmap demo` run twice: the same accounts, still working
        demo_token(service.db_url, "http://127.0.0.1:8000/")
    printed = capsys.readouterr().out
    assert printed.index("控制台 console: http://127.0.0.1:8000/") < printed.index("预报员")
    accounts = dict(re.findall(r"(?:forecaster|viewer): (demo-\S+) / (\S+)", printed))
    assert set(accounts) == {"demo-forecaster", "demo-viewer"}
    assert accounts["demo-forecaster"] == "mayang-demo-2026"  # the documented demo password
    roles = {}
    for name, password in accounts.items():
        r = sign_in(site, name, password, from_new_address())
        assert r.status_code == 200, r.text
        roles[name] = r.json()["role"]
    assert roles == {"demo-forecaster": "forecaster", "demo-viewer": "viewer"}
    (token, *_) = re.findall(r"export RISKMAP_TOKEN=(rm_\S+)", printed)
    assert httpx.get(f"{site}/api/me", headers=bearer(token), timeout=30).status_code == 200
