"""Liveness and readiness: is the database reachable and is its schema current."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.deps import Connection
from geo.db import migrate
from geo.db.sqlfiles import load_sql

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: str
    database: str
    postgres: str | None = None
    postgis: str | None = None
    migrations_pending: list[str]
    villages: int | None = None


@router.get(
    "/healthz",
    response_model=Health,
    summary="Service health",
    responses={503: {"model": Health, "description": "database unreachable or schema behind"}},
)
def healthz(request: Request, conn: Connection) -> JSONResponse:
    """Answer 200 only when the database answers and every migration is applied."""
    row = conn.execute(load_sql("api.sql", "health.sql")).fetchone()
    todo = migrate.pending(request.app.state.database_url)
    ok = not todo
    body = Health(
        status="ok" if ok else "degraded",
        database="reachable",
        postgres=row["postgres"],
        postgis=row["postgis"],
        migrations_pending=todo,
        villages=row["villages"],
    )
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)
