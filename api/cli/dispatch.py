"""`riskmap dispatch run` and `riskmap terminals keys`: delivering warnings, terminal secrets."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from riskmap.api.cli.common import console, database_url, out, settings

app = typer.Typer(help="deliver warnings to 村村响 terminals, SMS and MQTT", no_args_is_help=True)
terminals = typer.Typer(
    help="village broadcast terminals (村村响): signing keys", no_args_is_help=True
)


@app.command("run")
def run(
    drain: Annotated[
        bool, typer.Option("--drain", help="deliver what is due now, then exit (no waiting)")
    ] = False,
) -> None:
    """Deliver the outbox: wake on new rows, retry with backoff, record every attempt."""
    import logging

    import psycopg

    from riskmap.api.dispatch import keys, service

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per delivery is too many
    s = settings()
    url = database_url(s)
    with psycopg.connect(url, autocommit=True) as conn:
        made = keys.ensure_keys(conn, service.installation_key(s))
    if made:
        console.print(f"dispatch: made signing keys for {made} terminals")
    console.print(
        f"dispatch: delivering (terminals fetch audio and acknowledge at {service.base_url(s)})"
    )
    stats = service.run(s, url, drain=drain)
    out.print(
        f"delivered {stats.delivered}, retried {stats.retried}, dead {stats.dead},"
        f" superseded or expired {stats.superseded}"
    )


@app.command("retry-dead")
def retry_dead(
    warning: Annotated[
        int | None, typer.Option("--warning", help="only this warning's messages")
    ] = None,
) -> None:
    """Queue dead messages again, once what killed them is fixed.

    A terminal's address, its key file or the SMS gateway, say. Messages of warnings that have
    ended, or that a newer version replaced, stay dead."""
    import psycopg

    from riskmap.api.dispatch.sql import SQL as DSQL

    s = settings()
    with psycopg.connect(database_url(s)) as conn:
        n = conn.execute(DSQL("retry_dead.sql"), {"warning_id": warning}).rowcount
        conn.commit()
    out.print(f"{n} dead messages queued again")


@terminals.command("keys")
def terminal_keys(
    rotate: Annotated[
        str | None, typer.Option("--rotate", help="give this terminal a new key")
    ] = None,
    retire_old: Annotated[
        str | None,
        typer.Option("--retire-old", help="end a rotation: retire all but the newest key"),
    ] = None,
    export: Annotated[
        Path | None,
        typer.Option("--export", help="write the unretired keys as JSON (mode 0600)"),
    ] = None,
    area: Annotated[
        str | None,
        typer.Option(
            "--area", help="export only the terminals of this township or village code (prefix)"
        ),
    ] = None,
) -> None:
    """Make missing keys; rotate, retire or export them for the township controllers."""
    import psycopg

    from riskmap.api.dispatch import keys, service

    s = settings()
    fernet = service.installation_key(s)
    with psycopg.connect(database_url(s)) as conn:
        made = keys.ensure_keys(conn, fernet)
        if rotate:
            try:
                kid, _ = keys.rotate(conn, fernet, rotate)
            except LookupError as exc:
                raise typer.BadParameter(str(exc), param_hint="--rotate") from None
            out.print(f"rotated: {kid} signs from now on; older keys verify until retired")
        if retire_old:
            out.print(f"retired {keys.retire_old(conn, retire_old)} older keys of {retire_old}")
        exported = keys.export(conn, fernet, area) if export else None
        conn.commit()
    if made:
        out.print(f"made keys for {made} terminals")
    if export and exported is not None:
        write_key_file(export, exported)
        out.print(f"wrote {len(exported)} keys to {export}")


def write_key_file(path: Path, exported: dict[str, str]) -> None:
    """The key file a reference receiver reads (--keys), readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(exported, f, indent=1, sort_keys=True)
    tmp.replace(path)
