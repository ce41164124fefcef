"""Operations: request ids, JSON access logs and Prometheus metrics.

- Every request gets an id: the caller's ``X-Request-ID`` when it is a sane token, else a new
  one; it is returned on the response, put in every log line written while the request runs
  and in the body of 5xx answers, so a duty officer's screenshot leads to the log line.
- Logs are one JSON object per line (python-json-logger), configured by ``riskmap serve``.
- Metrics use prometheus_client. With several uvicorn workers set ``PROMETHEUS_MULTIPROC_DIR``
  (``riskmap serve --workers N`` sets it to the instance's own directory under
  ``data_dir/prometheus``, api/instance.py) and every scrape adds up the instance's workers;
  without it each worker reports its own counts. Every process metric carries the label
  ``instance`` (``instance_name``, default host:port), the same value a Prometheus scrape of
  the instance adds itself, so series of instances behind one proxy never merge. Warning and
  outbox counts are read from the database at scrape time, so they are right whichever worker
  or instance answers.
"""

from __future__ import annotations

import contextvars
import logging
import os
import re
import time
import uuid
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "riskmap_request_id", default=None
)
access_log = logging.getLogger("riskmap.access")

_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


# -- logging ------------------------------------------------------------------------------------


class RequestIdFilter(logging.Filter):
    """Add the running request's id to every record (None outside requests)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


def json_formatter() -> JsonFormatter:
    # uvicorn adds "color_message" (the message with ANSI colour codes) to its records: not data
    return JsonFormatter(
        LOG_FORMAT,
        rename_fields={"levelname": "level", "name": "logger"},
        reserved_attrs=[*RESERVED_ATTRS, "color_message"],
    )


def logging_config(level: str = "info") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for uvicorn (``log_config=``): JSON lines on stderr.

    uvicorn's own access log is replaced by ``riskmap.access`` (method, path, route, status,
    duration, user, request id), so it is turned off.
    """
    lvl = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"json": {"()": json_formatter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["request_id"],
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "": {"handlers": ["stderr"], "level": lvl},
            "uvicorn": {"handlers": [], "level": lvl, "propagate": True},
            "uvicorn.error": {"handlers": [], "level": lvl, "propagate": True},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }


# -- metrics ------------------------------------------------------------------------------------


class Metrics:
    """The app's Prometheus metrics, in a registry of its own (no import-time singletons)."""

    def __init__(self, instance: str = "") -> None:
        self.instance = instance
        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        reg = self.registry = CollectorRegistry()
        self.requests = Counter(
            "riskmap_http_requests",
            "HTTP requests answered, by route template and status",
            ["method", "route", "status"],
            registry=reg,
        )
        self.latency = Histogram(
            "riskmap_http_request_duration_seconds",
            "Time to the start of the response, by route template and status",
            ["method", "route", "status"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=reg,
        )
        self.sse_clients = Gauge(
            "riskmap_sse_clients",
            "Clients connected to /api/events",
            registry=reg,
            multiprocess_mode="livesum",
        )
        self.events_sent = Counter(
            "riskmap_sse_events_sent",
            "Events pushed to /api/events clients (one per client)",
            ["kind"],
            registry=reg,
        )
        self.events_received = Counter(
            "riskmap_events_received",
            "Events the listener received from the database",
            ["kind"],
            registry=reg,
        )

    def count_event(self, event) -> None:
        """Called by the event hub for each event it receives from the database."""
        self.events_received.labels(event.kind).inc()

    def render(self, database: dict[str, list[dict[str, Any]]]) -> bytes:
        """The text exposition: process metrics (all workers when multiprocess) + database."""
        if self.multiprocess:
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        else:
            registry = self.registry
        process = _Labelled(registry, {"instance": self.instance}) if self.instance else registry
        return generate_latest(process) + generate_latest(_DatabaseGauges(database))


class _Labelled:
    """A registry's metrics with constant labels added to every sample (for generate_latest)."""

    def __init__(self, registry: CollectorRegistry, labels: dict[str, str]) -> None:
        self.registry = registry
        self.labels = labels

    def collect(self):
        for family in self.registry.collect():
            family.samples = [
                s._replace(labels={**s.labels, **self.labels}) for s in family.samples
            ]
            yield family


class _DatabaseGauges:
    """Gauges read from the database at scrape time (shaped like a registry for generate_latest)."""

    def __init__(self, rows: dict[str, list[dict[str, Any]]]) -> None:
        self.rows = rows

    def collect(self):
        warnings = GaugeMetricFamily(
            "riskmap_warnings", "Warnings by status and colour", labels=["status", "colour"]
        )
        for r in self.rows["warnings"]:
            warnings.add_metric([r["status"], r["colour"]], r["n"])
        yield warnings
        outbox = GaugeMetricFamily(
            "riskmap_outbox", "Outbox messages by status and channel", labels=["status", "channel"]
        )
        pending = 0
        for r in self.rows["outbox"]:
            outbox.add_metric([r["status"], r["channel"]], r["n"])
            pending += r["n"] if r["status"] == "pending" else 0
        yield outbox
        yield GaugeMetricFamily(
            "riskmap_outbox_pending", "Outbox messages not yet delivered", value=pending
        )
        beats = GaugeMetricFamily(
            "riskmap_heartbeat_age_seconds", "Seconds since a service's heartbeat", labels=["name"]
        )
        for r in self.rows["heartbeats"]:
            beats.add_metric([r["name"]], r["age_s"])
        yield beats


def mark_worker_dead() -> None:
    """In multiprocess mode, drop this worker's live gauges (called at shutdown)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(os.getpid())


# -- the middleware -----------------------------------------------------------------------------


def _route_of(scope: dict[str, Any]) -> str:
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"  # unmatched: bounded label values


class ObservabilityMiddleware:
    """Pure ASGI (streams pass through untouched): request id, access log line, metrics."""

    def __init__(self, app, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if _SANE_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        token = request_id_var.set(rid)
        start = time.perf_counter()
        status = {"code": 500}

        async def send_with_id(message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                headers = [h for h in message.get("headers", []) if h[0].lower() != b"x-request-id"]
                message = {**message, "headers": [*headers, (b"x-request-id", rid.encode())]}
                self._observe(scope, status["code"], time.perf_counter() - start)
                status["observed"] = True
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if not status.get("observed"):  # failed before answering: the 500 handler answers
                self._observe(scope, 500, time.perf_counter() - start)
            user = scope.get("state", {}).get("user")
            access_log.info(
                "%s %s %s",
                scope["method"],
                scope["path"],
                status["code"] if status.get("observed") else 500,
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "route": _route_of(scope),
                    "status": status["code"] if status.get("observed") else 500,
                    "duration_ms": round((time.perf_counter() - start) * 1000, 2),
                    "user": user,
                    "client": (scope.get("client") or [None])[0],
                },
            )
            request_id_var.reset(token)

    def _observe(self, scope, status: int, seconds: float) -> None:
        labels = (scope["method"], _route_of(scope), str(status))
        self.metrics.requests.labels(*labels).inc()
        self.metrics.latency.labels(*labels).observe(seconds)
