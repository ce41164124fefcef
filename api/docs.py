"""OpenAPI documentation pages served from the package, not a CDN: bureau networks are often
offline, and FastAPI's default /docs fetches Swagger UI from cdn.jsdelivr.net (a blank page)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

ASSETS = "/docs-assets"
DOCS_URL = "/docs"


def add_docs(app: FastAPI) -> None:
    """``/docs`` (Swagger UI) with its scripts and styles under ``/docs-assets``."""
    app.mount(ASSETS, StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @app.get(DOCS_URL, include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title="riskmap — API 文档 (OpenAPI)",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
        )
