"""Request body limits: 413 for a body larger than its route allows, announced or streamed.

A ``Content-Length`` over the limit is refused before the app runs; a chunked body (no
``Content-Length``) is counted as it arrives and refused with 413 as soon as it passes the
limit, so neither ``request.json()`` nor the multipart parser buffers an unbounded body.
Field reports (``/api/reports``) may carry photos and get the photo allowance; every other
write takes JSON and 1 MiB.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from riskmap.geo import reports

DEFAULT_MAX_BODY = 2**20
REPORT_MAX_BODY = reports.MAX_PHOTOS * reports.MAX_PHOTO_BYTES + 2**20


def max_body(path: str) -> int:
    """The largest body the route at ``path`` accepts, in bytes."""
    return REPORT_MAX_BODY if path.rstrip("/") == "/api/reports" else DEFAULT_MAX_BODY


def _too_large(limit: int) -> str:
    return f"request larger than {limit // 2**20} MB"


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = max_body(scope["path"])
        length = dict(scope["headers"]).get(b"content-length")
        try:
            announced = int(length) if length is not None else None
        except ValueError:
            announced = None
        if announced is not None and announced > limit:
            await JSONResponse({"detail": _too_large(limit)}, 413)(scope, receive, send)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise HTTPException(413, _too_large(limit))
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started |= message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except HTTPException as exc:  # raised by counted() outside the app's own handlers
            if exc.status_code != 413 or started:
                raise
            await JSONResponse({"detail": exc.detail}, 413)(scope, receive, send)
