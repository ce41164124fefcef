"""`riskmap users …`: add users with a role, make and revoke their bearer tokens."""

from __future__ import annotations

from typing import Annotated

import psycopg
import typer
from rich.table import Table

from riskmap.api import users as accounts
from riskmap.api.cli.common import database_url, out, settings

app = typer.Typer(help="API users, roles and tokens.", no_args_is_help=True)


def _connect() -> psycopg.Connection:

    return psycopg.connect(database_url(settings()))


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="login name, e.g. zhang.wei")],
    role: Annotated[str, typer.Option(help=f"one of {', '.join(accounts.ROLES)}")],
    display_name: Annotated[str | None, typer.Option(help="name shown in the audit log")] = None,
    phone: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Add a user (or change an existing user's role)."""
    with _connect() as conn:
        accounts.add_user(conn, name, role, display_name, phone)
    out.print(f"user {name}: {role}")


@app.command("token")
def token(
    name: Annotated[str, typer.Argument()],
    label: Annotated[str | None, typer.Option(help="what the token is for")] = None,
) -> None:
    """Make a bearer token for a user and print it once (only its hash is stored)."""
    with _connect() as conn:
        print(accounts.new_token(conn, name, label))


@app.command("revoke")
def revoke(name: Annotated[str, typer.Argument()]) -> None:
    """Revoke every token of a user."""
    with _connect() as conn:
        n = accounts.revoke_tokens(conn, name)
    out.print(f"revoked {n} token(s) of {name}")


@app.command("list")
def list_() -> None:
    """Users, roles and live tokens."""
    with _connect() as conn:
        rows = accounts.list_users(conn)
    table = Table("name", "role", "display name", "active", "live tokens", "last used")
    for r in rows:
        table.add_row(
            r["name"],
            r["role"],
            r["display_name"] or "",
            str(r["active"]),
            str(r["live_tokens"]),
            str(r["last_used_at"] or ""),
        )
    out.print(table)
