"""`riskmap rules …`: check the rule files, and run the rules now or at a past time."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import psycopg
import typer

from riskmap.api.cli.common import database_url, out, settings

app = typer.Typer(
    help="The rules engine: rule files are data (YAML) with test cases.", no_args_is_help=True
)


def _parse_time(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    at = datetime.fromisoformat(text)
    if at.tzinfo is None:
        raise typer.BadParameter("give a zone, e.g. 2026-07-14T18:00+08:00 or ...Z")
    return at


@app.command("check")
def check(
    paths: Annotated[list[Path] | None, typer.Argument(help="extra rule files or folders")] = None,
) -> None:
    """Validate every rule file and run the test cases each rule ships with."""
    from riskmap.geo.rules import BUILTIN_DIR, check_rules

    s = settings()
    results = check_rules([BUILTIN_DIR, *s.rule_dirs, *(paths or [])])
    failed = [r for r in results if not r.ok]
    for r in failed:
        out.print(f"[red]{r}[/]", soft_wrap=True)  # a path cut in two cannot be copied
    out.print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    if failed:
        raise typer.Exit(1)


@app.command("run")
def run(
    at: Annotated[str | None, typer.Option(help="evaluate as of this time (ISO with zone)")] = None,
) -> None:
    """Evaluate all rules now (or at --at) and apply the proposals to the warning lifecycle."""
    from riskmap.geo.warnings.cycle import run_cycle

    s = settings()
    when = _parse_time(at)
    with psycopg.connect(database_url(s)) as conn:
        result = run_cycle(conn, when, s.rule_dirs, s.plan_dirs)
    out.print(f"rules at {when.isoformat()}: {len(result.proposals)} proposal(s)")
    for p in result.proposals:
        out.print(f"  {p.rule_id} v{p.rule_version} {p.colour}: {len(p.village_codes)} village(s)")
    for change in [*result.changes, *result.expired]:
        out.print(
            f"  warning {change.warning_id}: {change.action} → {change.status}"
            f" {change.colour} v{change.version}" + (" (sent)" if change.published else "")
        )
