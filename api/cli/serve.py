"""`riskmap serve`: the HTTP API under uvicorn, with JSON logs and multiprocess metrics."""

from __future__ import annotations

from typing import Annotated

import typer

from riskmap.api.cli.common import database_url, out, settings
from riskmap.geo.settings import Settings


def serve(
    host: Annotated[str | None, typer.Option(help="bind address (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default 8000)")] = None,
    workers: Annotated[int | None, typer.Option(help="uvicorn worker processes")] = None,
    with_dispatch: Annotated[
        bool,
        typer.Option("--with-dispatch", help="also run the dispatcher (`riskmap dispatch run`)"),
    ] = False,
) -> None:
    """Serve the HTTP API."""
    s = settings()
    database_url(s)
    if not with_dispatch:
        run_server(s, host or s.host, port or s.port, workers or s.workers)
        return
    from riskmap.api.cli.companions import companions

    with companions(s.data_dir / "logs") as children:
        # the dispatcher links audio, CAP and acknowledgements to where this server listens
        where = {"RISKMAP_HOST": host or s.host, "RISKMAP_PORT": str(port or s.port)}
        children.start("dispatcher", ["dispatch", "run"], env=where)
        run_server(s, host or s.host, port or s.port, workers or s.workers)


def run_server(settings: Settings, host: str, port: int, workers: int) -> None:
    """JSON log lines (api.observability); with several workers, Prometheus multiprocess mode in
    this instance's own directory under ``data_dir/prometheus`` (api/instance.py) unless
    PROMETHEUS_MULTIPROC_DIR is set (it must be set before the workers import prometheus_client,
    hence here). The instance's name (the ``instance`` label of its metrics) reaches the workers
    as RISKMAP_INSTANCE_NAME."""
    import os
    from contextlib import nullcontext

    import uvicorn

    from riskmap.api.instance import MetricsDir, default_name
    from riskmap.api.observability import logging_config

    os.environ.setdefault("RISKMAP_INSTANCE_NAME", settings.instance_name or default_name(port))
    own_dir = workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    with MetricsDir(settings.data_dir / "prometheus") if own_dir else nullcontext() as metrics:
        if metrics is not None:
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics)
        out.print(f"riskmap API: http://{host}:{port}/  (OpenAPI: http://{host}:{port}/docs)")
        uvicorn.run(
            "riskmap.api.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=settings.log_level,
            log_config=logging_config(settings.log_level),
            access_log=False,  # riskmap.access logs each request with its id, route and user
            timeout_keep_alive=settings.keep_alive_s,  # longer than a proxy's (deploy/nginx.conf)
            timeout_graceful_shutdown=10,  # a safety net: event streams end on shutdown anyway
            timeout_worker_healthcheck=settings.worker_healthcheck_s,
        )
