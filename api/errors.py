"""Map domain errors to HTTP answers in one place; 5xx answers never carry SQL or stack traces."""

from __future__ import annotations

import logging

import psycopg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from geo.errors import DataError, NotFoundError, RiskmapError

log = logging.getLogger("riskmap.api")

_STATUS: list[tuple[type[Exception], int]] = [
    (NotFoundError, 404),
    (DataError, 422),
]


def register(app: FastAPI) -> None:
    """Install the handlers on ``app``."""

    @app.exception_handler(RiskmapError)
    async def _domain(request: Request, exc: RiskmapError) -> JSONResponse:
        for kind, status in _STATUS:
            if isinstance(exc, kind):
                return JSONResponse({"detail": str(exc)}, status_code=status)
        log.error("domain error on %s: %s", request.url.path, exc)
        return JSONResponse({"detail": "internal error"}, status_code=500)

    @app.exception_handler(psycopg.Error)
    async def _database(request: Request, exc: psycopg.Error) -> JSONResponse:
        log.error("database error on %s: %s", request.url.path, exc)
        return JSONResponse({"detail": "database unavailable or query failed"}, status_code=503)
