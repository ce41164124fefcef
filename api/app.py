"""The FastAPI application, built from an explicit Settings object (no import-time singletons)."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from fastapi import FastAPI
from psycopg.rows import tuple_row
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from riskmap.api import errors
from riskmap.api.auth import TokenCache
from riskmap.api.bodylimit import BodyLimitMiddleware
from riskmap.api.docs import add_docs
from riskmap.api.events import EventHub
from riskmap.api.instance import default_name
from riskmap.api.observability import Metrics, ObservabilityMiddleware, mark_worker_dead
from riskmap.api.openapi import document_errors
from riskmap.api.routers import (
    broadcast_audio,
    broadcasts,
    cap_feed,
    datasets,
    drills,
    duty,
    frequency,
    health,
    me,
    ogc,
    readings,
    resources,
    responses,
    session,
    sites,
    sms_receipts,
    summary,
    villages,
    warning_review,
    warnings,
)
from riskmap.api.routers import events as live_events
from riskmap.api.routers import reports as field_reports
from riskmap.api.routers import tiles as tile_routes
from riskmap.api.security_headers import SecurityHeadersMiddleware
from riskmap.api.tiles.admission import (
    TileAdmission,
    WritesFirstMiddleware,
    write_board,
)
from riskmap.api.tiles.batch import TileBatcher
from riskmap.api.web import add_web
from riskmap.geo.settings import Settings, get_settings

DESCRIPTION = """
riskmap — 县级应急管理局风险一张图与预警系统 (risk maps and early warning for county
emergency-management bureaus). Data below county level in the demo is **synthetic**:
see `/api/datasets` for the provenance of every loaded dataset.
"""

# Tag descriptions for the OpenAPI document (every router uses one of these tags).
OPENAPI_TAGS = [
    {"name": "warnings", "description": "预警 — warnings: public issued ones, review and actions"},
    {"name": "events", "description": "实时事件 — live Server-Sent Events for wall maps"},
    {"name": "resources", "description": "应急资源 — shelters, warehouses, rescue teams"},
    {"name": "villages", "description": "行政村 — villages, their risk and rain"},
    {"name": "field reports", "description": "现场报告 — reports from the field and their review"},
    {"name": "responses", "description": "应急响应 — responses under the plans, tasks, timeline"},
    {"name": "metadata", "description": "数据来源 — datasets and their provenance"},
    {"name": "duty", "description": "值班值守 — who is on duty, hand-over notes, duty report"},
    {"name": "auth", "description": "用户与令牌 — signing in, the caller behind a bearer token"},
    {"name": "operations", "description": "运维 — health and Prometheus metrics"},
    {"name": "OGC API – Features", "description": "OGC API – Features collections and items"},
    {"name": "tiles", "description": "地图瓦片 — vector tiles, rainfall tiles, TileJSON"},
    {
        "name": "delivery",
        "description": "预警发布 — 村村响 acknowledgements, broadcast audio, SMS receipts",
    },
]


def _plain_rows(conn: psycopg.Connection) -> None:
    """Undo a borrower's row factory so the next borrower gets plain tuples, as it expects."""
    conn.row_factory = tuple_row


async def _generic_plans(conn: psycopg.AsyncConnection) -> None:
    """Tile connections plan their batched statements once (custom plans cost more to make
    than to run). A SET, not a startup option: poolers such as pgbouncer refuse those."""
    await conn.execute("SET plan_cache_mode = force_generic_plan")


def _lower_priority(nice: int) -> None:
    """Run this worker at ``nice`` (never raising its priority).

    Why: on a county's small server PostgreSQL, the rules and the ingest share the cores with
    the API. Fifty map clients keep the workers busy, and the renders they wait for need
    PostgreSQL's share of the same cores: with every request rendering, p99 was 52–59 ms at
    nice 0 and 35–43 ms at nice 5 on 2 cores (bench/tiles.py, tipg run at the same nice)."""
    current = os.getpriority(os.PRIO_PROCESS, 0)
    if nice > current:
        os.setpriority(os.PRIO_PROCESS, 0, nice)


# psycopg_pool retries a lost database with a backoff that doubles without a ceiling until
# reconnect_timeout (300 s by default), and waiting requests only get its next attempt: after an
# outage of a minute the API stayed down up to a minute more. Giving up each attempt after 10 s
# lets the next request start a fresh one, so the API serves within seconds of the database's
# return (tests/reliability/test_pg_restart.py).
POOL_RECONNECT_S = 10.0


log = logging.getLogger("riskmap.api")


def _where(url: str) -> str:
    """The database a worker uses, for its log: user, host, port and name, never the password."""
    parts = psycopg.conninfo.conninfo_to_dict(url)
    return "{user}@{host}:{port}/{dbname}".format_map(
        {k: parts.get(k, "") for k in ("user", "host", "port", "dbname")}
    )


def create_app(settings: Settings | None = None, *, database_url: str | None = None) -> FastAPI:
    """Build the app; the database URL is resolved (embedded cluster started) before serving."""
    settings = settings or get_settings()
    url = database_url or settings.resolve_database_url()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # application names tell the pools' sessions apart in pg_stat_activity
        pool = ConnectionPool(
            url,
            min_size=1,
            max_size=10,
            open=False,
            name="riskmap",
            reconnect_timeout=POOL_RECONNECT_S,
            kwargs={"application_name": "riskmap-api"},
            reset=_plain_rows,
        )
        pool.open(wait=True, timeout=30)
        app.state.pool = pool
        # vector tiles render in batches on async connections (api/tiles/batch.py): no thread
        # per tile; all opened at start (growing one by one under the first burst stalled it);
        # generic plans: the batched statements' custom plans cost more to make than to run
        tile_pool = AsyncConnectionPool(
            url,
            min_size=settings.tile_db_connections,
            max_size=settings.tile_db_connections,
            open=False,
            name="riskmap-tiles",
            reconnect_timeout=POOL_RECONNECT_S,
            kwargs={"autocommit": True, "application_name": "riskmap-tile-render"},
            configure=_generic_plans,
        )
        await tile_pool.open(wait=True, timeout=30)
        app.state.tile_pool = tile_pool
        app.state.tile_batcher = TileBatcher(tile_pool)
        # a write in any worker of this instance holds every worker's new tile requests
        app.state.tile_admission.board = write_board()
        # token checks of every route, emptied in every instance by the tokens notification
        app.state.tokens = TokenCache(url)
        await asyncio.to_thread(app.state.tokens.start)
        app.state.events = EventHub(url, pool, on_event=app.state.metrics.count_event)
        await app.state.events.start()
        # Everything built so far (modules, the app, pools) lives as long as the worker: keep it
        # out of the cyclic collector, whose full passes over ~100k start-up objects took
        # 35 ms each (measured), a pause for every request of the worker.
        gc.collect()
        gc.freeze()
        _lower_priority(settings.api_nice)
        log.debug(
            "worker %d ready: database %s, %d tile connections, niceness %d",
            os.getpid(),
            _where(url),
            settings.tile_db_connections,
            settings.api_nice,
        )
        try:
            yield
        finally:
            await app.state.events.stop()
            app.state.tokens.stop()
            if getattr(app.state, "tile_cache", None) is not None:
                app.state.tile_cache.stop()
            await tile_pool.close()
            pool.close()
            app.state.tile_admission.board.close()
            mark_worker_dead()

    app = FastAPI(
        title="riskmap",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_tags=OPENAPI_TAGS,
        docs_url=None,  # served from the package by api.docs (no CDN)
        redoc_url=None,  # ReDoc exists only as a CDN script
    )
    add_docs(app)
    app.state.settings = settings
    instance = settings.instance_name or os.environ.get("RISKMAP_INSTANCE_NAME")  # riskmap serve
    app.state.metrics = Metrics(instance or default_name(settings.port))
    app.add_middleware(BodyLimitMiddleware)  # 413 for oversized bodies, chunked ones too
    # writes before map tiles: a write request closes the worker's tile gate while it runs
    app.state.tile_admission = TileAdmission(
        settings.tile_concurrency, settings.tile_queue, settings.tile_write_pause_ms / 1000
    )
    app.add_middleware(WritesFirstMiddleware)
    app.add_middleware(ObservabilityMiddleware, metrics=app.state.metrics)
    app.add_middleware(SecurityHeadersMiddleware)  # nosniff everywhere, a CSP on bare HTML
    app.state.database_url = url
    errors.register(app)
    app.include_router(health.router)
    app.include_router(health.metrics_router)
    app.include_router(live_events.router)
    app.include_router(datasets.router)
    app.include_router(me.router)
    app.include_router(session.router)
    app.include_router(warnings.router)
    app.include_router(warning_review.router)
    app.include_router(summary.router)
    app.include_router(cap_feed.router)
    app.include_router(ogc.router)
    app.include_router(tile_routes.router)
    tile_routes.route_vector_tiles_first(app)
    app.include_router(resources.router)
    app.include_router(villages.router)
    app.include_router(frequency.router)
    app.include_router(sites.router)
    app.include_router(sites.alarms_router)
    app.include_router(field_reports.router)
    app.include_router(broadcasts.router)
    app.include_router(broadcast_audio.router)
    app.include_router(sms_receipts.router)
    app.include_router(readings.router)
    app.include_router(responses.router)
    app.include_router(duty.router)
    app.include_router(drills.router)
    add_web(app, settings)  # last: the pages and their files come after every API route
    document_errors(app)  # every operation's error answers in /openapi.json
    return app
