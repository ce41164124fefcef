"""`riskmap db …`: the embedded cluster (or RISKMAP_DATABASE_URL) and its schema."""

from __future__ import annotations

import typer

from riskmap.api.cli.common import database_url, out, settings

app = typer.Typer(
    help="The database: embedded cluster or RISKMAP_DATABASE_URL.", no_args_is_help=True
)


@app.command("up")
def db_up() -> None:
    """Create (first time) and start the embedded cluster, then migrate."""
    s = settings()
    if not s.embedded:
        out.print("RISKMAP_DATABASE_URL is set: the database is external, nothing to start.")
        database_url(s)
        return
    url = database_url(s)
    out.print(f"database up: {url}")


@app.command("down")
def db_down() -> None:
    """Stop the embedded cluster."""
    s = settings()
    if not s.embedded:
        out.print("RISKMAP_DATABASE_URL is set: the database is external, nothing to stop.")
        return
    stopped = s.cluster().down()
    out.print("database stopped" if stopped else "database was not running")


@app.command("status")
def db_status() -> None:
    """Report whether the embedded cluster exists and runs (exit 3 when it is not running)."""
    s = settings()
    if not s.embedded:
        out.print("external database (RISKMAP_DATABASE_URL); riskmap does not manage it")
        return
    st = s.cluster().status()
    out.print(f"cluster:     {st.root}")
    out.print(f"initialised: {'yes' if st.initialised else 'no'}")
    out.print(f"running:     {'yes, pid ' + str(st.pid) if st.running else 'no'}")
    out.print(f"socket:      {st.socket_dir}")
    out.print(f"url:         {st.url}")
    if not st.running:
        raise typer.Exit(3)


@app.command("url")
def db_url() -> None:
    """Print the libpq URL of the database (for psql, notebooks, other tools)."""
    s = settings()
    out.print(s.database_url or s.cluster().url, soft_wrap=True)


@app.command("migrate")
def db_migrate() -> None:
    """Apply pending schema migrations."""
    from riskmap.geo.db.migrate import pending

    url = database_url(settings())
    left = pending(url)
    out.print("schema is current" if not left else f"still pending: {left}")
