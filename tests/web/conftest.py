"""Real pages in a real browser: Debian's Chromium, driven by Playwright for Python (no browser
download), over a real riskmap server on 127.0.0.1. The server's database holds the demo county
with its storm replayed so that it ends at the current hour: its warnings are in force, as a
duty officer opening the console would find them.

Every page a test opens records console errors, uncaught exceptions and any request to a host
other than the server (those are aborted: the pages must work offline). Screenshots go to
``tests/artifacts/`` (git-ignored).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
import uvicorn
from psycopg import sql

from riskmap.api.app import create_app
from riskmap.api.passwords import set_password
from riskmap.api.users import ROLES, add_user, new_token
from riskmap.geo.db.cluster import EmbeddedCluster
from riskmap.geo.db.migrate import migrate
from riskmap.geo.settings import Settings
from tests.conftest import clone_database, make_scratch_dir
from tests.web.chromium import CHROMIUM, CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parents[2]
# RISKMAP_WEB_DIR (the setting web_dir) points the server and these tests at another build.
WEBAPP = Path(os.environ.get("RISKMAP_WEB_DIR") or ROOT / "api" / "webapp")
ARTIFACTS = ROOT / "tests" / "artifacts"
PASSWORD = "web-tests-password-2026"
# Pages open on a small laptop's screen unless a test asks for another: the desktop layout
# (the pages' breakpoints are at 700 and 800 px) at half the pixels of REVIEW, which a software
# renderer draws in two thirds of the time. The screenshots made for people to look at
# (page-*, console-forecaster) use REVIEW.
DESKTOP = (1024, 640)
REVIEW = (1440, 900)


@pytest.fixture(scope="session")
def live_storm_url(pg_cluster: EmbeddedCluster) -> str:
    """The demo as `make demo` loads it: the county, the storm ending now, its warnings, risk."""
    from rich.console import Console

    from riskmap.api.cli.common import DEFAULT_SEED
    from riskmap.api.cli.demo_load import load_demo
    from riskmap.geo.risk.build import build_risk
    from riskmap.geo.risk.catalogue import catalogued_dem

    assert (WEBAPP / "index.html").is_file(), (
        f"{WEBAPP} has no index.html: the web pages are not built (run `make setup`)"
    )
    name = f"t_live_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_cluster.url_for("postgres"), autocommit=True) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = pg_cluster.url_for(name)
    migrate(url)
    settings = Settings(data_dir=make_scratch_dir("web-demo-"))
    load_demo(settings, url, "431226", None, DEFAULT_SEED, Console(quiet=True), with_scenario=True)
    with psycopg.connect(url) as conn:
        build_risk(conn, catalogued_dem(conn, "431226"), county="431226")
        conn.commit()
    return url


class _Server(uvicorn.Server):
    """uvicorn's server, but its stop drops every open connection at once, as a server process
    that dies does: uvicorn's own shutdown lets a streaming answer (``/api/events``) run on, and
    a page would then see a silent stream, not a lost server."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for connection in list(self.server_state.connections):
            transport = getattr(connection, "transport", None)
            if transport is not None:
                transport.close()
        await super().shutdown(sockets)


@dataclass
class WebService:
    """A riskmap server that can be stopped and started again on the same port."""

    db_url: str
    settings: Settings
    port: int = 0
    tokens: dict[str, str] = field(default_factory=dict)
    #: a token key's role when the key is not the role's name (``page_opener``)
    roles: dict[str, str] = field(default_factory=dict)
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self.port = sock.getsockname()[1]
        app = create_app(self.settings, database_url=self.db_url)
        config = uvicorn.Config(
            app, log_level="warning", lifespan="on", timeout_graceful_shutdown=5
        )
        server = _Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("web test server did not start")
            time.sleep(0.02)
        self._server, self._thread = server, thread

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.should_exit = True  # connections dropped, then the app's own shutdown
        self._thread.join(timeout=15)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout=30)
        self._server = self._thread = None


@pytest.fixture(scope="session")
def web_service(
    pg_cluster: EmbeddedCluster, live_storm_url: str, tmp_path_factory
) -> Iterator[WebService]:
    """The server over a copy of the live demo, with a user ``web-<role>`` per role, each with a
    token (``tokens[role]``) and the sign-in password ``PASSWORD``."""
    url = clone_database(pg_cluster, live_storm_url, prefix="t_web")
    service = WebService(
        db_url=url,
        settings=Settings(
            data_dir=tmp_path_factory.mktemp("web-data"), write_rate_limit="1000/minute"
        ),
    )
    with psycopg.connect(url) as conn:
        for role in ROLES:
            add_user(conn, f"web-{role}", role, display_name=f"网页测试{role}")
            service.tokens[role] = new_token(conn, f"web-{role}", label="web tests")
            set_password(conn, f"web-{role}", PASSWORD)
        conn.commit()
    service.start()
    yield service
    service.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"no Chromium at {CHROMIUM}: run `make setup`"
    # without a CJK font every Chinese label and screenshot is boxes (tofu)
    assert shutil.which("fc-list"), "no fc-list (fontconfig): run `make setup`"
    cjk = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True).stdout
    assert cjk.strip(), "no CJK font (fc-list :lang=zh is empty): run `make setup` (fonts-noto-cjk)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class Watched:
    """A page with what went wrong on it: console errors, exceptions, foreign requests."""

    page: object
    errors: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item (``open_page`` looks at the call's)."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@contextlib.contextmanager
def page_opener(browser, service: WebService, request) -> Iterator:
    """``opener(path, role=None, viewport=(w, h))`` → Watched, for pages of ``service``; the
    contexts are closed on leaving. ``role`` is a key of ``service.tokens`` (the user
    ``web-<role>``, whose role is ``service.roles[role]``, else ``role`` itself).

    When the test fails, each page it opened is screenshotted first, as
    ``tests/artifacts/failed-<test>-<n>.png``."""
    contexts = []
    opened: list[Watched] = []

    def opener(
        path: str,
        role: str | None = None,
        viewport: tuple[int, int] = DESKTOP,
        **context_options,
    ) -> Watched:
        context = browser.new_context(
            viewport={"width": viewport[0], "height": viewport[1]},
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
            **context_options,
        )
        contexts.append(context)
        server = urlsplit(service.base_url).netloc
        watched = Watched(page=None)

        def route(r):
            if urlsplit(r.request.url).netloc in (server, "") or r.request.url.startswith(
                ("data:", "blob:")
            ):
                r.continue_()
            else:
                watched.foreign.append(r.request.url)
                r.abort()

        context.route("**/*", route)
        if role is not None:
            token = service.tokens[role]
            real_role = service.roles.get(role, role)
            user = {"name": f"web-{role}", "role": real_role, "display_name": None}
            stored = _user_js(user, real_role)
            context.add_init_script(
                "(() => { if (!localStorage.getItem('riskmap.token')) {"
                f" localStorage.setItem('riskmap.token', {token!r});"
                f" localStorage.setItem('riskmap.user', JSON.stringify({stored}));"
                " } })();"
            )
        page = context.new_page()
        watched.page = page
        page.on(
            "console",
            lambda m: watched.errors.append(f"console: {m.text}") if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: watched.errors.append(f"exception: {e}"))
        opened.append(watched)
        page.goto(service.base_url + path)
        return watched

    try:
        yield opener
    finally:
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            name = re.sub(r"[^\w.-]+", "-", request.node.name).strip("-")
            for n, watched in enumerate(opened):
                with contextlib.suppress(Exception):  # a page that crashed or closed
                    watched.shot(f"failed-{name}-{n}")
        for context in contexts:
            context.close()


@pytest.fixture
def open_page(browser, web_service: WebService, request):
    """``open_page(path, role=None, viewport=(w, h))`` → Watched, over the live demo
    (``page_opener``)."""
    with page_opener(browser, web_service, request) as opener:
        yield opener


def _user_js(user: dict, role: str) -> str:
    import json

    from riskmap.api.users import PERMISSIONS

    user = dict(user, permissions=sorted(p for p, roles in PERMISSIONS.items() if role in roles))
    return json.dumps(user, ensure_ascii=False)


def wait_ready(watched: Watched, timeout_ms: int = 30000) -> None:
    """Until the page says its data is loaded and the map has rendered (body[data-ready])."""
    watched.page.wait_for_selector("body[data-ready='true']", timeout=timeout_ms)
    watched.page.wait_for_function(
        "() => { const m = window.riskmapMap; return m && m.loaded() && m.areTilesLoaded(); }",
        timeout=timeout_ms,
    )


def rendered_layers(watched: Watched) -> set[str]:
    """The ids of the map layers that have features on screen (MapLibre's own answer)."""
    return set(
        watched.page.evaluate(
            "() => [...new Set(window.riskmapMap.queryRenderedFeatures().map(f => f.layer.id))]"
        )
    )


def canvas_colours(watched: Watched, size: int = 64) -> int:
    """How many different colours the map canvas shows, sampled on a ``size``² grid (a blank or
    failed map is one colour: background only, or transparent)."""
    return watched.page.evaluate(
        """(size) => {
            const map = window.riskmapMap;
            map.redraw();  // draw now, so the drawing buffer holds the current frame
            const sample = document.createElement("canvas");
            sample.width = sample.height = size;
            const ctx = sample.getContext("2d", { willReadFrequently: true });
            ctx.drawImage(map.getCanvas(), 0, 0, size, size);
            const px = ctx.getImageData(0, 0, size, size).data;
            const seen = new Set();
            for (let i = 0; i < px.length; i += 4) {
                seen.add((px[i] << 24) | (px[i + 1] << 16) | (px[i + 2] << 8) | px[i + 3]);
            }
            return seen.size;
        }""",
        size,
    )
