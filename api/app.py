"""The FastAPI application, built from an explicit Settings object (no import-time singletons)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from psycopg_pool import ConnectionPool

from api import errors
from api.routers import datasets, health, me
from geo.settings import Settings, get_settings

DESCRIPTION = """
riskmap — 县级应急管理局风险一张图与预警系统 (risk maps and early warning for county
emergency-management bureaus). Data below county level in the demo is **synthetic**:
see `/api/datasets` for the provenance of every loaded dataset.
"""


def create_app(settings: Settings | None = None, *, database_url: str | None = None) -> FastAPI:
    """Build the app; the database URL is resolved (embedded cluster started) before serving."""
    settings = settings or get_settings()
    url = database_url or settings.resolve_database_url()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = ConnectionPool(url, min_size=1, max_size=10, open=False, name="riskmap")
        pool.open(wait=True, timeout=30)
        app.state.pool = pool
        try:
            yield
        finally:
            pool.close()

    app = FastAPI(
        title="riskmap",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database_url = url
    errors.register(app)
    app.include_router(health.router)
    app.include_router(datasets.router)
    app.include_router(me.router)
    return app
