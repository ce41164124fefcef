"""Live events for wall maps: warning changes, new observations and delivery outcomes as
Server-Sent Events (实时事件推送), within a second of the database change.

FastAPI's own ``EventSourceResponse`` does the wire format and sends a ``: ping`` comment after
15 s without events (proxies keep the connection open); no extra dependency is needed.

A stream opened with a token ends as soon as the token is revoked (or expires, or its user is
deactivated or changes role or area), in whichever instance it is open: api/stream_guard.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent

from riskmap.api.areas import event_in_area, scope
from riskmap.api.auth import Credentials, known
from riskmap.api.events import KIND, REPLAY_LIMIT, Event
from riskmap.api.openapi import answers
from riskmap.api.stream_guard import guard_of
from riskmap.api.users import Principal

router = APIRouter(prefix="/api", tags=["events"])

RETRY_MS = 3000
KNOWN_KINDS = ("warning", "observation", "delivery", "field_report")


@answers(401, token="optional")
def _stream_principal(request: Request, creds: Credentials) -> Principal | None:
    """The caller, checked through the token cache or with a connection given back at once
    (a stream may last for hours)."""
    return None if creds is None else known(request, creds.credentials)


def _kinds(
    kinds: Annotated[
        str | None,
        Query(
            description="comma-separated event kinds to receive (default: all): "
            + ", ".join(KNOWN_KINDS),
            examples=["warning,delivery"],
            max_length=200,
        ),
    ] = None,
) -> list[str] | None:
    if kinds is None:
        return None
    wanted = sorted({k.strip() for k in kinds.split(",") if k.strip()})
    bad = [k for k in wanted if not KIND.match(k)]
    if bad or not wanted:
        raise HTTPException(
            422, f"kinds must be comma-separated names like {', '.join(KNOWN_KINDS)}; got {kinds!r}"
        )
    return wanted


EVENT_EXAMPLE = (
    "retry: 3000\n\n"
    "event: warning\n"
    'data: {"id": 42, "kind": "warning", "at": "2026-07-14T05:00:01+00:00", "payload": '
    '{"warning_id": 7, "change": "issue", "version": 1, "status": "issued", "colour": "red", '
    '"level": "一级", "action": "evacuate_now", "hazard": "flash_flood"}}\n'
    "id: 42\n\n"
)


@router.get(
    "/events",
    response_class=EventSourceResponse,
    summary="Live events (Server-Sent Events)",
    responses={
        200: {
            "description": "An endless `text/event-stream`. Each event has `id` (give it back as "
            "`Last-Event-ID` to resume), `event` (its kind) and JSON `data` "
            "`{id, kind, at, payload}`. A `reset` event means more was missed than can be "
            "replayed: reload the full state.",
            "content": {"text/event-stream": {"example": EVENT_EXAMPLE}},
        },
        401: {"description": "a token was sent but is unknown, revoked or expired"},
    },
)
async def events(
    request: Request,
    creds: Credentials,
    principal: Annotated[Principal | None, Depends(_stream_principal)],
    kinds: Annotated[list[str] | None, Depends(_kinds)],
    last_event_id: Annotated[
        int | None,
        Query(
            ge=0,
            le=2**62,
            description="resume after this id (for clients that cannot send "
            "the Last-Event-ID header)",
        ),
    ] = None,
    last_event_id_header: Annotated[
        int | None,
        Header(alias="Last-Event-ID", ge=0, le=2**62, description="sent by browsers on reconnect"),
    ] = None,
) -> AsyncIterator[ServerSentEvent]:
    """Push warning changes (`warning`), ingested observations (`observation`), delivery
    outcomes (`delivery`) and field reports (`field_report`) as they are committed.

    Without a token only events about published warnings are sent (their public state); any
    token with `read` gets every event, a token bound to an area (a city or county) those of
    its area only (warning, delivery, coverage, field-report and operator-alert events of other
    counties are not sent). After a reconnect with `Last-Event-ID` (header) or
    `?last_event_id=`, the missed events of the last 24 hours (at most 10,000) come first.

    A stream opened with a token ends when the token is revoked or expires (its reconnect then
    gets 401), or when its user's role or area changes (the reconnect gets the new view).
    """
    hub = request.app.state.events
    public_only = principal is None or not principal.may("read")
    area = scope(principal)
    after = last_event_id_header if last_event_id_header is not None else last_event_id

    def accepts(event: Event) -> bool:
        return (
            (event.public or not public_only)
            and (kinds is None or event.kind in kinds)
            and event_in_area(area, event.kind, event.payload)
        )

    sub = hub.subscribe(accepts)
    guard = watch = None
    if principal is not None and creds is not None:
        guard = guard_of(request.app)
        watch = guard.watch(creds.credentials, principal, lambda: hub._close(sub))
    metrics = getattr(request.app.state, "metrics", None)
    if metrics is not None:
        metrics.sse_clients.inc()
    try:
        yield ServerSentEvent(retry=RETRY_MS, comment="riskmap live events 实时事件")
        replayed: set[int] = set()
        if after is not None:
            reset = ServerSentEvent(
                event="reset", data={"reason": "missed more than can be replayed"}
            )
            if await asyncio.to_thread(hub.too_old, after, kinds, public_only):
                yield reset
            missed = await asyncio.to_thread(hub.replay, after, kinds, public_only, area)
            for event in missed:
                replayed.add(event.id)
                yield _sse(event, metrics)
            if len(missed) >= REPLAY_LIMIT:
                yield reset
        async for event in sub:
            if event.id not in replayed:
                yield _sse(event, metrics)
        if watch is not None and watch.reason is not None:
            yield ServerSentEvent(comment=f"token {watch.reason}: stream ended")
        elif sub.overflowed:
            yield ServerSentEvent(comment="too far behind: reconnect with Last-Event-ID")
    finally:
        if watch is not None:
            guard.unwatch(watch)
        hub.unsubscribe(sub)
        if metrics is not None:
            metrics.sse_clients.dec()


def _sse(event: Event, metrics) -> ServerSentEvent:
    if metrics is not None:
        metrics.events_sent.labels(event.kind).inc()
    return ServerSentEvent(id=str(event.id), event=event.kind, raw_data=event.wire)
