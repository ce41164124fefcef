"""OpenAPI documentation pages served from the package, not a CDN: bureau networks are often
offline, and FastAPI's default /docs fetches Swagger UI from cdn.jsdelivr.net (a blank page).

The files come from swagger-ui-py (Swagger UI 5): FastAPI writes OpenAPI 3.1, which the
Swagger UI 4 of swagger-ui-bundle refused ("Unable to render this definition").

The page is where people paste their bearer tokens ("Authorize"), so it carries a
Content-Security-Policy that runs our own scripts only and forbids framing by other sites;
Swagger UI is started by ``/docs/init.js`` rather than an inline script, which the policy
would refuse.
"""

from __future__ import annotations

import json
from importlib.util import find_spec
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs-assets"
DOCS_URL = "/docs"
INIT_URL = "/docs/init.js"
TITLE = "riskmap — API 文档 (OpenAPI)"

# Swagger UI sets style attributes and draws icons from data: URLs; it fetches /openapi.json.
DOCS_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    ]
)
HEADERS = {
    "Content-Security-Policy": DOCS_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

PAGE = f"""<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link type="text/css" rel="stylesheet" href="{ASSETS}/swagger-ui.css">
<link rel="shortcut icon" href="{ASSETS}/favicon-32x32.png">
<title>{TITLE}</title>
</head>
<body>
<div id="swagger-ui"></div>
<script src="{ASSETS}/swagger-ui-bundle.js"></script>
<!-- {INIT_URL} starts SwaggerUIBundle (no inline script: the page's policy allows none) -->
<script src="{INIT_URL}"></script>
</body>
</html>
"""


def init_script(openapi_url: str) -> str:
    """The script that starts Swagger UI on the page (FastAPI's default settings)."""
    config = {
        "url": openapi_url,
        "dom_id": "#swagger-ui",
        "layout": "BaseLayout",
        "deepLinking": True,
        "showExtensions": True,
        "showCommonExtensions": True,
    }
    return (
        f"window.ui = SwaggerUIBundle(Object.assign({json.dumps(config)}, {{\n"
        "  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],\n"
        "}));\n"
    )


def swagger_ui_static() -> Path:
    """swagger-ui-py's folder of Swagger UI files, found without importing the package: its
    ``__init__`` loads Jinja2 and PyYAML, which every API worker's start would pay for."""
    spec = find_spec("swagger_ui")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("swagger-ui-py is not installed", name="swagger_ui")
    return Path(spec.origin).parent / "static"


def add_docs(app: FastAPI) -> None:
    """``/docs`` (Swagger UI) with its scripts and styles under ``/docs-assets``."""
    static = swagger_ui_static()
    app.mount(ASSETS, StaticFiles(directory=str(static)), name="docs-assets")

    @app.get(DOCS_URL, include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(PAGE, headers=HEADERS)

    @app.get(INIT_URL, include_in_schema=False)
    def docs_init() -> Response:
        script = init_script(app.openapi_url or "/openapi.json")
        return Response(script, media_type="text/javascript", headers=HEADERS)
