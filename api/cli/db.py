"""`riskmap db …`: the embedded cluster (or RISKMAP_DATABASE_URL) and its schema."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from riskmap.api.cli.common import console, database_url, out, settings

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


@app.command("backup")
def db_backup(
    file: Annotated[Path, typer.Argument(help="archive to write (a .tar)")],
    with_secrets: Annotated[
        bool,
        typer.Option(
            "--with-secrets",
            help="include data_dir/secret.key, the key that decrypts the broadcast terminals'"
            " signing secrets (keep such an archive as safe as the key itself)",
        ),
    ] = False,
) -> None:
    """Write the database (pg_dump) and the files it points at (grids, rasters, photos) to FILE."""
    from riskmap.geo.db.backup import BackupError, backup

    s = settings()
    url = database_url(s)
    try:
        result = backup(url, s.data_dir, file, with_secrets=with_secrets)
    except BackupError as exc:
        console.print(f"[red]backup failed:[/red] {exc}")
        raise typer.Exit(1) from exc
    out.print(
        f"backup written: {result.archive} ({result.files} file(s), {result.bytes:,} bytes,"
        f" schema {result.migration_head})"
    )
    for path in result.missing:
        console.print(f"[yellow]not found, not in the archive:[/yellow] {path}")
    if not with_secrets:
        console.print(
            "[yellow]no installation key in the archive:[/yellow] terminals' signing secrets can"
            " be decrypted after a restore only with this installation's key"
            + (" (RISKMAP_SECRET_KEY)" if s.secret_key else f" ({s.data_dir / 'secret.key'})")
            + "; keep it, or back up again with --with-secrets"
        )


@app.command("restore")
def db_restore(
    file: Annotated[Path, typer.Argument(help="archive written by `riskmap db backup`")],
    force: Annotated[
        bool,
        typer.Option("--force", help="replace a database that holds data, and differing files"),
    ] = False,
) -> None:
    """Restore FILE into the configured database and data_dir (checksums verified first)."""
    from riskmap.geo.db.backup import BackupError, restore

    s = settings()
    url = s.resolve_database_url()  # not migrated first: the archive brings its own schema
    try:
        result = restore(file, url, s.data_dir, force=force)
    except BackupError as exc:
        console.print(f"[red]restore failed:[/red] {exc}")
        raise typer.Exit(1) from exc
    out.print(
        f"restored {file}: {result.files} file(s) into {s.data_dir},"
        f" {result.rewritten_paths} stored path(s) rewritten, schema {result.migration_head}"
    )
    for note in result.notes:
        console.print(f"[yellow]note:[/yellow] {note}")
    database_url(s)  # an older archive's schema is brought up to this riskmap's
