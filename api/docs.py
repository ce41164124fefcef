"""OpenAPI documentation pages served from the package, not a CDN: bureau networks are often
offline, and FastAPI's default /docs fetches Swagger UI from cdn.jsdelivr.net (a blank page).

The files come from swagger-ui-py (Swagger UI 5): FastAPI writes OpenAPI 3.1, which the
Swagger UI 4 of swagger-ui-bundle refused ("Unable to render this definition")."""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs-assets"
DOCS_URL = "/docs"


def add_docs(app: FastAPI) -> None:
    """``/docs`` (Swagger UI) with its scripts and styles under ``/docs-assets``."""
    static = files("swagger_ui") / "static"
    app.mount(ASSETS, StaticFiles(directory=str(static)), name="docs-assets")

    @app.get(DOCS_URL, include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title="riskmap — API 文档 (OpenAPI)",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
        )
