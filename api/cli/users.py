"""`riskmap users …`: add users with a role, set their sign-in passwords, make and revoke their
bearer tokens."""

from __future__ import annotations

import sys
from typing import Annotated

import psycopg
import typer
from rich.table import Table

from riskmap.api import passwords
from riskmap.api import users as accounts
from riskmap.api.cli.common import console, database_url, out, settings
from riskmap.geo.errors import InvalidArgumentError, NotFoundError

app = typer.Typer(help="API users, roles and tokens.", no_args_is_help=True)


def _connect() -> psycopg.Connection:

    return psycopg.connect(database_url(settings()))


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="login name, e.g. zhang.wei")],
    role: Annotated[str, typer.Option(help=f"one of {', '.join(accounts.ROLES)}")],
    display_name: Annotated[str | None, typer.Option(help="name shown in the audit log")] = None,
    phone: Annotated[str | None, typer.Option()] = None,
    area: Annotated[
        str | None,
        typer.Option(
            help="area of responsibility: a city code (430400: all its counties), a county code"
            " (431226) or 'all' (the whole installation, the default for new users); an"
            " existing user keeps its area when this is not given"
        ),
    ] = None,
) -> None:
    """Add a user (or change an existing user's role, names or area)."""
    with _connect() as conn:
        accounts.add_user(conn, name, role, display_name, phone, area)
        shown = next(u for u in accounts.list_users(conn) if u["name"] == name)
    out.print(f"user {name}: {role}, area {shown['area_code'] or 'all'}")


@app.command("token")
def token(
    name: Annotated[str, typer.Argument()],
    label: Annotated[str | None, typer.Option(help="what the token is for")] = None,
) -> None:
    """Make a bearer token for a user and print it once (only its hash is stored)."""
    with _connect() as conn:
        print(accounts.new_token(conn, name, label))


@app.command("passwd")
def passwd(
    name: Annotated[str, typer.Argument()],
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="read the password from one line of stdin"),
    ] = False,
) -> None:
    """Set a user's password for signing in to the web console (tokens stay valid)."""
    with _connect() as conn:
        if name not in {u["name"] for u in accounts.list_users(conn)}:
            raise NotFoundError(f"no user named {name!r}; add it with `riskmap users add`")
        conn.rollback()  # no transaction left open while the keyboard is waited for
        password = sys.stdin.readline().rstrip("\r\n") if password_stdin else _ask_password()
        passwords.set_password(conn, name, password)
    out.print(f"已设置 {name} 的密码 password set for {name}")


def _ask_password() -> str:
    """Ask at the terminal, hidden, until a long enough password is typed the same twice."""
    while True:
        password = typer.prompt("新密码 New password", hide_input=True)
        try:
            passwords.check_strength(password)
        except InvalidArgumentError as exc:
            console.print(str(exc), style="red", highlight=False)  # click would not say why
            continue
        if typer.prompt("再输入一次 Repeat the password", hide_input=True) == password:
            return password
        console.print("两次输入不一致 The two passwords do not match", style="red")


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
    table = Table("name", "role", "area", "display name", "active", "live tokens", "last used")
    for r in rows:
        table.add_row(
            r["name"],
            r["role"],
            r["area_code"] or "all",
            r["display_name"] or "",
            str(r["active"]),
            str(r["live_tokens"]),
            str(r["last_used_at"] or ""),
        )
    out.print(table)
