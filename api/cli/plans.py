"""`riskmap plans …`: check the emergency plan files (预案) and list the variables they read."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from riskmap.api.cli.common import out, settings

app = typer.Typer(
    help="Emergency plans (预案): response levels Ⅳ–Ⅰ, their conditions and tasks, as YAML.",
    no_args_is_help=True,
)


@app.command("check")
def check(
    paths: Annotated[list[Path] | None, typer.Argument(help="extra plan files or folders")] = None,
) -> None:
    """Validate the built-in, site and given plan files and run each plan's test cases."""
    from riskmap.geo.plans import BUILTIN_DIR, check_plans

    s = settings()
    results = check_plans([BUILTIN_DIR, *s.plan_dirs, *(paths or [])])
    failed = [r for r in results if not r.ok]
    for r in failed:
        out.print(f"[red]{r}[/]", highlight=False, soft_wrap=True)
    out.print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    if failed:
        raise typer.Exit(1)


@app.command("variables")
def variables() -> None:
    """The county variables plan conditions may use, with what each counts."""
    from riskmap.geo.plans import VARIABLES

    for name, text in VARIABLES.items():
        out.print(f"{name}: {text}", highlight=False, soft_wrap=True)
