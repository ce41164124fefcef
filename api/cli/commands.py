"""The ``riskmap`` command tree (typer): a module per command group, all registered here.

Each group module builds its own ``typer.Typer`` and imports only ``common``; this module
composes them, so importing ``app`` gives the whole command tree (tests and docs see every
command) and no group imports another. :func:`riskmap.api.cli.main` imports it when the
command runs (see the package's docstring for why not sooner).
"""

from __future__ import annotations

import sys

import typer

from riskmap.api.cli import (
    archive,
    data,
    db,
    dispatch,
    drill,
    duty,
    frequency,
    ingest,
    plans,
    risk,
    rules,
    sites,
    users,
)
from riskmap.api.cli.common import console
from riskmap.api.cli.demo import demo
from riskmap.api.cli.receiver import receiver
from riskmap.api.cli.serve import serve
from riskmap.api.cli.sms_gateway import sms_gateway
from riskmap.geo.errors import RiskmapError

app = typer.Typer(
    help="riskmap — 风险一张图与预警 (risk maps and early warning for emergency bureaus)",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db.app, name="db")
app.add_typer(data.app, name="data")
app.add_typer(archive.app, name="archive")
app.add_typer(risk.app, name="risk")
app.add_typer(ingest.app, name="ingest")
app.add_typer(rules.app, name="rules")
app.add_typer(plans.app, name="plans")
app.add_typer(sites.app, name="sites")
app.add_typer(users.app, name="users")
app.add_typer(dispatch.app, name="dispatch")
app.add_typer(dispatch.terminals, name="terminals")
app.add_typer(duty.app, name="duty")
app.add_typer(drill.app, name="drill")
app.add_typer(frequency.app, name="frequency")
app.command("demo")(demo)
app.command("serve")(serve)
app.command("receiver")(receiver)
dev = typer.Typer(help="development fakes of third parties (not for production)")
dev.command("sms-gateway")(sms_gateway)
app.add_typer(dev, name="dev")


def run() -> None:
    """Run the command line: domain errors become one clear line and exit status 1, not a
    traceback."""
    try:
        app()
    except RiskmapError as exc:
        console.print(f"[bold red]error:[/bold red] {exc}", soft_wrap=True)  # paths stay whole
        sys.exit(1)
