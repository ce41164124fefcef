"""The ``riskmap`` command line (typer): database, demo data, the pipeline and the server."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from riskmap.geo.errors import InvalidArgumentError, RiskmapError
from riskmap.geo.settings import Settings, get_settings

console = Console(stderr=True)
out = Console()

app = typer.Typer(
    help="riskmap — 风险一张图与预警 (risk maps and early warning for emergency bureaus)",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(
    help="The database: embedded cluster or RISKMAP_DATABASE_URL.", no_args_is_help=True
)
data_app = typer.Typer(help="Data sets: the demo county generator.", no_args_is_help=True)
risk_app = typer.Typer(
    help="Village risk maps (flash flood, geohazard, forest fire).", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(data_app, name="data")
app.add_typer(risk_app, name="risk")


def _add_subcommands() -> None:
    from riskmap.api import ingest_cli, rules_cli, users_cli

    app.add_typer(ingest_cli.app, name="ingest")
    app.add_typer(rules_cli.app, name="rules")
    app.add_typer(users_cli.app, name="users")


def _settings() -> Settings:
    return get_settings()


def _database_url(settings: Settings) -> str:
    """Resolve the URL (starting the embedded cluster on demand) and bring the schema up to date."""
    from riskmap.geo.db.migrate import migrate

    if settings.embedded:
        console.print(f"[dim]embedded database in {settings.pg_dir}[/dim]")
    url = settings.resolve_database_url()
    applied = migrate(url)
    if applied:
        console.print(f"applied {len(applied)} migration(s): {', '.join(applied)}")
    return url


# -- db ------------------------------------------------------------------------------------------


@db_app.command("up")
def db_up() -> None:
    """Create (first time) and start the embedded cluster, then migrate."""
    settings = _settings()
    if not settings.embedded:
        out.print("RISKMAP_DATABASE_URL is set: the database is external, nothing to start.")
        _database_url(settings)
        return
    url = _database_url(settings)
    out.print(f"database up: {url}")


@db_app.command("down")
def db_down() -> None:
    """Stop the embedded cluster."""
    settings = _settings()
    if not settings.embedded:
        out.print("RISKMAP_DATABASE_URL is set: the database is external, nothing to stop.")
        return
    stopped = settings.cluster().down()
    out.print("database stopped" if stopped else "database was not running")


@db_app.command("status")
def db_status() -> None:
    """Report whether the embedded cluster exists and runs (exit 3 when it is not running)."""
    settings = _settings()
    if not settings.embedded:
        out.print("external database (RISKMAP_DATABASE_URL); riskmap does not manage it")
        return
    st = settings.cluster().status()
    out.print(f"cluster:     {st.root}")
    out.print(f"initialised: {'yes' if st.initialised else 'no'}")
    out.print(f"running:     {'yes, pid ' + str(st.pid) if st.running else 'no'}")
    out.print(f"socket:      {st.socket_dir}")
    out.print(f"url:         {st.url}")
    if not st.running:
        raise typer.Exit(3)


@db_app.command("url")
def db_url() -> None:
    """Print the libpq URL of the database (for psql, notebooks, other tools)."""
    settings = _settings()
    out.print(settings.database_url or settings.cluster().url, soft_wrap=True)


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply pending schema migrations."""
    from riskmap.geo.db.migrate import pending

    url = _database_url(_settings())
    left = pending(url)
    out.print("schema is current" if not left else f"still pending: {left}")


# -- data ----------------------------------------------------------------------------------------


CountyOpt = Annotated[
    str | None, typer.Option("--county", help="GB/T 2260 county code (default: Mayang 431226)")
]
VillagesOpt = Annotated[
    int | None,
    typer.Option("--villages", min=1, max=1_000_000, help="village count (default: as reported)"),
]
SeedOpt = Annotated[int, typer.Option("--seed", help="generator seed (same seed, same county)")]


@data_app.command("demo")
def data_demo(
    county: CountyOpt = None, villages: VillagesOpt = None, seed: SeedOpt = 20260723
) -> None:
    """Generate and load the demo county: a real outline, synthetic villages and resources."""
    from riskmap.api.demo import load_demo

    settings = _settings()
    url = _database_url(settings)
    summary = load_demo(settings, url, county or settings.default_county, villages, seed, console)
    out.print(summary.table())


@risk_app.command("build")
def risk_build(
    county: CountyOpt = None,
    dem: Annotated[
        Path | None, typer.Option(help="DEM GeoTIFF (default: the catalogued one)")
    ] = None,
    forest: Annotated[
        Path | None, typer.Option(help="forest-cover GeoTIFF (default: derived, synthetic)")
    ] = None,
) -> None:
    """Compute every village's susceptibility, exposure and risk level per hazard."""
    import psycopg

    from riskmap.geo.risk import build_risk, catalogued_dem

    settings = _settings()
    url = _database_url(settings)
    with psycopg.connect(url) as conn:
        try:
            dem_path = dem or catalogued_dem(conn, county)
        except FileNotFoundError as exc:
            raise InvalidArgumentError(str(exc)) from exc
        result = build_risk(
            conn, dem_path, forest_path=forest, county=county, cache_dir=settings.data_dir / "cache"
        )
    out.print(
        f"risk map: {result.villages} villages, {result.rows} rows"
        f" in {result.seconds.get('total', 0):.1f} s"
        + (" (forest cover synthetic)" if result.forest_synthetic else "")
    )
    for hazard, levels in sorted(result.levels.items()):
        counts = ", ".join(f"level {lvl}: {n}" for lvl, n in sorted(levels.items()))
        out.print(f"  {hazard}: {counts}")
    if result.skipped:
        out.print(f"  [yellow]{len(result.skipped)} village(s) outside the DEM were skipped[/]")


@data_app.command("scenario")
def data_scenario(
    county: CountyOpt = None,
    seed: SeedOpt = 20260723,
    out_dir: Annotated[Path | None, typer.Option("--out", help="folder to write")] = None,
) -> None:
    """Write the storm scenario's feed files for a demo county (no database needed)."""
    from riskmap.api.demo import write_scenario

    settings = _settings()
    files = write_scenario(settings, county or settings.default_county, seed, out_dir)
    out.print(f"wrote {len(files)} feed files to {files[0].parent}")


@app.command("demo")
def demo(
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="load and exit, do not serve")
    ] = False,
    county: CountyOpt = None,
    villages: VillagesOpt = None,
    seed: SeedOpt = 20260723,
) -> None:
    """Run the whole demo: database, demo county, pipeline; then serve the API."""
    from riskmap.api.demo import load_demo

    settings = _settings()
    url = _database_url(settings)
    summary = load_demo(
        settings,
        url,
        county or settings.default_county,
        villages,
        seed,
        console,
        with_scenario=True,
    )
    out.print(summary.table())
    if summary.timeline:
        out.print(summary.timeline_table())
    risk_build(county=county or settings.default_county, dem=None, forest=None)
    _demo_token(url)
    if no_serve:
        return
    _serve(settings, settings.host, settings.port, settings.workers)


def _demo_token(url: str) -> None:
    """A forecaster account for trying the review actions on the demo's candidates."""
    import psycopg

    from riskmap.api.users import add_user, new_token

    with psycopg.connect(url, autocommit=True) as conn:
        add_user(conn, "demo-forecaster", "forecaster", display_name="演示预报员")
        token = new_token(conn, "demo-forecaster", label="make demo")
    out.print(
        "demo forecaster token (review actions; `riskmap users` manages accounts):\n"
        f"  export RISKMAP_TOKEN={token}\n"
        '  curl -H "Authorization: Bearer $RISKMAP_TOKEN" http://127.0.0.1:8000/api/me'
    )


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="bind address (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default 8000)")] = None,
    workers: Annotated[int | None, typer.Option(help="uvicorn worker processes")] = None,
) -> None:
    """Serve the HTTP API."""
    settings = _settings()
    _database_url(settings)
    _serve(settings, host or settings.host, port or settings.port, workers or settings.workers)


def _serve(settings: Settings, host: str, port: int, workers: int) -> None:
    """JSON log lines (api.observability); with several workers, Prometheus multiprocess mode in
    ``data_dir/prometheus`` unless PROMETHEUS_MULTIPROC_DIR is set (it must be set before the
    workers import prometheus_client, hence here)."""
    import os
    import shutil

    import uvicorn

    from riskmap.api.observability import logging_config

    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        metrics_dir = settings.data_dir / "prometheus"
        shutil.rmtree(metrics_dir, ignore_errors=True)  # counts of an earlier run
        metrics_dir.mkdir(parents=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
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
        timeout_graceful_shutdown=10,  # a safety net: event streams end on shutdown anyway
    )


def main() -> None:
    """Entry point: domain errors become one clear line and exit status 1, not a traceback."""
    _add_subcommands()
    try:
        app()
    except RiskmapError as exc:
        console.print(f"[bold red]error:[/bold red] {exc}")
        sys.exit(1)


if __name__ == "__main__":
    main()
