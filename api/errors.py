"""Map domain errors to HTTP answers in one place; 5xx answers never carry SQL or stack traces."""

from __future__ import annotations

import logging

import psycopg
from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.routing import Match

from riskmap.geo.errors import (
    ConflictError,
    DataError,
    InvalidArgumentError,
    NotFoundError,
    RiskmapError,
)

log = logging.getLogger("riskmap.api")
# psycopg's words when a parameter holds a NUL character (psycopg/types/string.py)
NUL_REFUSED = "cannot contain NUL (0x00) bytes"
NUL_DETAIL = "text must not contain NUL (0x00) characters"

_STATUS: list[tuple[type[Exception], int]] = [
    (NotFoundError, 404),
    (DataError, 422),
    (ConflictError, 409),  # before its base class: the state or time, not the value, is wrong
    (InvalidArgumentError, 422),  # a value the operation cannot use (routers map state to 409)
]


def register(app: FastAPI) -> None:
    """Install the handlers on ``app``."""

    @app.exception_handler(RiskmapError)
    async def _domain(request: Request, exc: RiskmapError) -> JSONResponse:
        for kind, status in _STATUS:
            if isinstance(exc, kind):
                return JSONResponse({"detail": str(exc)}, status_code=status)
        log.error("domain error on %s: %s", request.url.path, exc)
        return _server_error(request, "internal error", 500)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 405:
            # Starlette's Allow names the methods of the first route on the path only (POST on
            # /api/session, which has DELETE too): every route of the path has its say
            exc.headers = (exc.headers or {}) | {"Allow": allowed_methods(request)}
        return await http_exception_handler(request, exc)

    @app.exception_handler(psycopg.Error)
    async def _database(request: Request, exc: psycopg.Error) -> JSONResponse:
        if isinstance(exc, psycopg.DataError) and NUL_REFUSED in str(exc):
            # text from the caller with a NUL character, which PostgreSQL text cannot hold:
            # psycopg refuses it before sending anything, so it is the input's fault, not a
            # database failure (no 503, no error in the log)
            return JSONResponse({"detail": NUL_DETAIL}, status_code=422)
        log.error("database error on %s: %s", request.url.path, exc)
        return _server_error(request, "database unavailable or query failed", 503)

    @app.exception_handler(Exception)
    async def _anything_else(request: Request, exc: Exception) -> JSONResponse:
        # The stack trace goes to the log (with the request id), never to the caller.
        rid = request.scope.get("state", {}).get("request_id")
        log.error(
            "unhandled error on %s", request.url.path, exc_info=exc, extra={"request_id": rid}
        )
        return _server_error(request, "internal error", 500)


METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed_methods(request: Request) -> str:
    """The methods some route of the app serves the request's path with."""
    routes = request.app.router.routes
    allowed = [
        method
        for method in METHODS
        if any(r.matches({**request.scope, "method": method})[0] == Match.FULL for r in routes)
    ]
    return ", ".join(allowed)


def _server_error(request: Request, detail: str, status: int) -> JSONResponse:
    """A 5xx body with the request id that finds the log line (set by the observability
    middleware), and the id on the response header too (the 500 handler runs outside it)."""
    rid = request.scope.get("state", {}).get("request_id")
    headers = {"X-Request-ID": rid} if rid else None
    return JSONResponse({"detail": detail, "request_id": rid}, status_code=status, headers=headers)
