"""The built web pages served beside the API: the forecaster console, the wall map and the
emergency-resource one map (issue 13).

The vite build in ``web/`` writes them to ``api/webapp/`` (git-ignored, package data of
riskmap.api, so a wheel carries them; the ``web_dir`` setting points elsewhere):
``index.html``, ``wall.html``, ``resources.html``, ``assets/`` with content-hashed names, and
perhaps other files at the top (``favicon.svg``, ``fonts/``).

- ``/``, ``/wall``, ``/resources`` (and their ``.html`` names) serve the pages, revalidated on
  every load (``Cache-Control: no-cache``, ETag and Last-Modified); ``/assets/…`` never change
  under a name, so browsers keep them a year (``immutable``).
- HTML answers carry a Content-Security-Policy that allows the pages' own scripts and API only,
  with what MapLibre needs (blob: workers, inline styles, data:/blob: images).
- Before the pages are built, ``/`` answers a 503 page saying so (not a 404 or a traceback).
- Top-level files and folders other than the pages and ``assets/`` are routed when the app is
  built, after every API route and never under a name the API uses, so they shadow nothing.
"""

from __future__ import annotations

import logging
import os
import re
from importlib.resources import files
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from riskmap.geo.settings import Settings

log = logging.getLogger("riskmap.api")

PAGES = {
    "/": "index.html",
    "/index.html": "index.html",
    "/wall": "wall.html",
    "/wall.html": "wall.html",
    "/resources": "resources.html",
    "/resources.html": "resources.html",
}
ASSETS = "assets"
# First path segments of the API: a built file or folder of these names is never routed.
RESERVED = frozenset(
    {"api", "tiles", "ogc", "docs", "docs-assets", "openapi.json", "healthz", "metrics", ASSETS}
)


def content_security_policy(extra_origin: str | None = None) -> str:
    """The pages' own scripts and API only, with what MapLibre needs; ``extra_origin`` is the
    online basemap's host when one is configured (its tiles are fetched by the map)."""
    extra = f" {extra_origin}" if extra_origin else ""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            f"connect-src 'self'{extra}",
            f"img-src 'self' data: blob:{extra}",
            "worker-src blob:",  # MapLibre starts its workers from blob: URLs
            "child-src blob:",  # the same, for browsers without worker-src
            "style-src 'self' 'unsafe-inline'",  # MapLibre sets style attributes
            "font-src 'self' data:",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'self'",
        ]
    )


def html_headers(settings: Settings) -> dict[str, str]:
    return {
        "Content-Security-Policy": content_security_policy(online_origin(settings)),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }


def online_origin(settings: Settings) -> str | None:
    """scheme://host[:port] of the online basemap, if one is configured."""
    if not settings.online_basemap:
        return None
    parts = urlsplit(settings.online_basemap)
    return f"{parts.scheme}://{parts.netloc}"


_PLAIN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")
REVALIDATE = "no-cache"
IMMUTABLE = "public, max-age=31536000, immutable"

NOT_BUILT = """<!doctype html>
<html lang="zh-CN">
<head><meta charset="utf-8"><title>网页尚未构建 · Web pages not built — riskmap</title></head>
<body>
<h1>网页尚未构建</h1>
<p>风险一张图的网页（预报员控制台、大屏地图、应急资源一张图）还没有构建。
请在项目目录运行 <code>make setup</code>，然后重新启动服务。
接口照常可用：<a href="/docs">/docs</a>。</p>
<h1 lang="en">The web pages are not built</h1>
<p lang="en">riskmap's web pages (forecaster console, wall map, resource one map) have not been
built. Run <code>make setup</code> in the project folder, then restart the service.
The API works meanwhile: <a href="/docs">/docs</a>.</p>
</body>
</html>
"""


def web_dir(settings: Settings) -> Path:
    """Where the built pages are: the ``web_dir`` setting, else riskmap.api's ``webapp``."""
    return settings.web_dir or Path(str(files("riskmap.api") / "webapp"))


class WebFiles(StaticFiles):
    """StaticFiles with our cache and security headers; a folder not built yet is 404 per file
    (Starlette's own check would make every request a 500 until the build runs)."""

    def __init__(self, directory: Path, cache_control: str, headers: dict[str, str]) -> None:
        super().__init__(directory=directory, check_dir=False)
        self.cache_control = cache_control
        self.html_headers = headers

    async def check_config(self) -> None:
        return None

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = self.cache_control
        response.headers["X-Content-Type-Options"] = "nosniff"
        if str(full_path).endswith(".html"):
            response.headers.update(self.html_headers)
        return response


def not_built_page(headers: dict[str, str]) -> HTMLResponse:
    """503: the service runs but its pages were never built."""
    headers = {**headers, "Cache-Control": "no-store"}
    return HTMLResponse(NOT_BUILT, status_code=503, headers=headers)


def add_web(app: FastAPI, settings: Settings) -> None:
    """Route the pages, ``/assets`` and the other built files; call after every API router."""
    root = web_dir(settings)
    headers = html_headers(settings)
    top = WebFiles(root, REVALIDATE, headers)

    async def config() -> dict:
        """What the pages need to know of the settings: the optional online basemap."""
        if not settings.online_basemap:
            return {"online_basemap": None}
        return {
            "online_basemap": {
                "tiles": [settings.online_basemap],
                "attribution": settings.online_basemap_attribution,
            }
        }

    app.add_api_route(
        "/api/web-config",
        config,
        methods=["GET"],
        tags=["metadata"],
        summary="网页配置 What the web pages need of the settings (public)",
    )

    async def page(request: Request) -> Response:
        try:
            return await top.get_response(PAGES[request.url.path], request.scope)
        except HTTPException as exc:
            if exc.status_code == 404 and not (root / "index.html").is_file():
                return not_built_page(headers)
            raise

    for path in PAGES:
        app.add_api_route(path, page, methods=["GET", "HEAD"], include_in_schema=False)
    app.mount(f"/{ASSETS}", WebFiles(root / ASSETS, IMMUTABLE, headers), name="web-assets")
    for entry in _other_entries(root):
        if entry.is_dir():
            app.mount(f"/{entry.name}", WebFiles(entry, REVALIDATE, headers))
        else:
            handler = _file_handler(top, entry.name)
            app.add_api_route(
                f"/{entry.name}", handler, methods=["GET", "HEAD"], include_in_schema=False
            )
    if not (root / "index.html").is_file():
        log.warning("web pages not built (no %s): / answers 503", root / "index.html")


def _file_handler(top: WebFiles, name: str):
    """A handler serving the one top-level file ``name``."""

    async def handler(request: Request) -> Response:
        return await top.get_response(name, request.scope)

    return handler


def _other_entries(root: Path) -> list[Path]:
    """Built files and folders at the top besides the pages and assets, in name order (names
    that are not plain file names, such as ``{x}`` or ``.git``, are left out)."""
    if not root.is_dir():
        return []
    taken = RESERVED | {path.strip("/") for path in PAGES}
    return sorted(
        entry
        for entry in root.iterdir()
        if entry.name not in taken
        and _PLAIN_NAME.fullmatch(entry.name)
        and (entry.is_file() or entry.is_dir())
    )
