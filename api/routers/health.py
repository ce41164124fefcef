"""Liveness and readiness: is the database reachable and is its schema current; how old are
the background services' heartbeats.

Only an unreachable database (503, ``status: down``, ``database: unreachable``) or pending
migrations make the answer 503. Services are reported, not judged: a dev setup without a
dispatcher is healthy, and an orchestrator that wants the dispatcher alive checks
``components.dispatcher.status``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Literal

import psycopg
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from psycopg.rows import dict_row
from pydantic import BaseModel, Field

from riskmap.api.deps import Connection
from riskmap.geo.db.sqlfiles import SqlFiles

SQL = SqlFiles("riskmap.api.sql")
log = logging.getLogger("riskmap.api")

router = APIRouter(tags=["operations"])
metrics_router = APIRouter(tags=["operations"])


# Seconds after which a heartbeat is stale; the ingest runner beats every second or so.
STALE_AFTER = {"dispatcher": 120.0, "ingest": 120.0}
DEFAULT_STALE_AFTER = 300.0
HEALTH_TIMEOUT_S = 5.0


class Component(BaseModel):
    """A background service as seen through its heartbeat (table service_heartbeat)."""

    status: Literal["ok", "stale", "never"] = Field(
        description="never: no heartbeat recorded (e.g. not run in a dev setup)"
    )
    last_seen: datetime | None = None
    age_seconds: float | None = None
    stale_after_seconds: float


class Health(BaseModel):
    status: str = Field(examples=["ok"], description="ok, degraded (migrations pending) or down")
    database: str = Field(examples=["reachable"], description="reachable or unreachable")
    postgres: str | None = None
    postgis: str | None = None
    migrations_pending: list[str]
    villages: int | None = None
    components: dict[str, Component] = Field(default_factory=dict)
    delivery: dict[str, float | int | None] | None = Field(
        default=None,
        description="the outbox: pending, due, sms_pending, dead, dead_24h, oldest_pending_s",
    )
    alerts: list[str] = Field(
        default_factory=list, description="what an operator must look at (e.g. dead messages)"
    )
    events_listener: str | None = Field(
        default=None, description="this worker's live-event listener: listening or reconnecting"
    )


def _components(rows: list[dict]) -> dict[str, Component]:
    seen = {r["name"]: r for r in rows}
    out = {}
    for name in sorted(set(STALE_AFTER) | set(seen)):
        limit = STALE_AFTER.get(name, DEFAULT_STALE_AFTER)
        row = seen.get(name)
        if row is None:
            out[name] = Component(status="never", stale_after_seconds=limit)
            continue
        age = round(max(row["age_s"], 0.0), 1)
        out[name] = Component(
            status="ok" if age <= limit else "stale",
            last_seen=row["last_seen"],
            age_seconds=age,
            stale_after_seconds=limit,
        )
    return out


@router.get(
    "/healthz",
    response_model=Health,
    summary="Service health",
    responses={503: {"model": Health, "description": "database unreachable or schema behind"}},
)
def healthz(request: Request) -> JSONResponse:
    """Answer 200 only when the database answers and every migration is applied; 503 with
    ``status: down, database: unreachable`` while it does not answer."""
    from riskmap.geo.db import migrate  # yoyo: by the first probe, not by every worker's start

    hub = getattr(request.app.state, "events", None)
    listener = None if hub is None else "listening" if hub.connected else "reconnecting"
    try:
        # Its own connection with a short wait: a probe must answer 503 quickly, not in 30 s.
        with request.app.state.pool.connection(timeout=HEALTH_TIMEOUT_S) as conn:
            conn.row_factory = dict_row
            row = conn.execute(SQL("health.sql")).fetchone()
            beats = conn.execute(SQL("health_heartbeats.sql")).fetchall()
            delivery = conn.execute(SQL("health_delivery.sql")).fetchone()
        todo = migrate.pending(request.app.state.database_url)
    except psycopg.OperationalError as exc:  # down, restarting, or no connection to be had
        log.warning("healthz: database unreachable: %s", exc)
        down = Health(
            status="down",
            database="unreachable",
            migrations_pending=[],
            alerts=["the database does not answer"],
            events_listener=listener,
        )
        # the error handler's words and request id too (clients read ``detail``)
        rid = request.scope.get("state", {}).get("request_id")
        extra = {"detail": "database unavailable or query failed", "request_id": rid}
        return JSONResponse(down.model_dump(mode="json") | extra, status_code=503)
    ok = not todo
    body = Health(
        status="ok" if ok else "degraded",
        database="reachable",
        postgres=row["postgres"],
        postgis=row["postgis"],
        migrations_pending=todo,
        villages=row["villages"],
        components=_components(beats),
        delivery=delivery,
        alerts=_alerts(delivery, _components(beats)),
        events_listener=listener,
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if ok else 503)


def _alerts(delivery: dict, components: dict[str, Component]) -> list[str]:
    out = []
    if delivery["dead"]:
        out.append(
            f"{delivery['dead']} messages dead after retries (delivery_attempt has why): fix"
            " the cause and run `riskmap dispatch retry-dead`, or reach those villages another way"
        )
    if delivery["due"] and components["dispatcher"].status != "ok":
        out.append(
            f"{delivery['due']} messages due and the dispatcher is"
            f" {components['dispatcher'].status}: run `riskmap dispatch run`"
        )
    return out


METRICS_EXAMPLE = """# HELP riskmap_http_requests_total HTTP requests answered
# TYPE riskmap_http_requests_total counter
riskmap_http_requests_total{method="GET",route="/healthz",status="200"} 3.0
# HELP riskmap_warnings Warnings by status and colour
# TYPE riskmap_warnings gauge
riskmap_warnings{colour="red",status="issued"} 2.0
"""


@metrics_router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"example": METRICS_EXAMPLE}}}},
)
def metrics(request: Request, conn: Connection) -> Response:
    """Requests and latency by route template and status, live-event clients and events, and
    (read from the database now) warnings by status and colour, outbox backlog, heartbeats."""
    database = {
        "warnings": conn.execute(SQL("metrics_warnings.sql")).fetchall(),
        "outbox": conn.execute(SQL("metrics_outbox.sql")).fetchall(),
        "heartbeats": conn.execute(SQL("health_heartbeats.sql")).fetchall(),
    }
    body = request.app.state.metrics.render(database)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
