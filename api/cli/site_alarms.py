"""`riskmap sites alarms`: run the work-safety alarm engine over the new readings.

Registered under the ``sites`` group (whose other commands, e.g. ``sites load``, live in their
own modules): this module only defines the command.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated

import typer

from riskmap.api.cli.common import console, database_url, out
from riskmap.api.cli.common import settings as get_settings

BEIJING = timezone(timedelta(hours=8))


def alarms(
    until: Annotated[
        str | None,
        typer.Option("--until", help="run up to this time, ISO with a zone (default: now)"),
    ] = None,
) -> None:
    """Advance every point's alarms over the readings since the last run (minimum duration,
    dead band, hold time, flapping, device faults, maintenance windows) with each site's own
    settings, grade the sites (GB 39496 §5.5.4), tell the people of a site whose grade rose
    or whose device failed, and print it all — 报警开启、升级、解除、设备故障与通知."""
    import psycopg

    from riskmap.geo.worksafety.cycle import run_cycle

    at = _zoned(until) if until else datetime.now(UTC)
    url = database_url(get_settings())
    with psycopg.connect(url) as conn:
        cycle = run_cycle(conn, at)
        conn.commit()
    run = cycle.run
    for c in run.changes:
        when = datetime.fromtimestamp(c.at, UTC).astimezone(BEIJING).strftime("%m-%d %H:%M")
        tag = f"{c.kind}/{c.change}" + (f"/{c.fault_kind}" if c.fault_kind else "")
        out.print(f"{when}  {tag:<24} {c.summary_zh}", soft_wrap=True, highlight=False)
    for g in cycle.grades:
        was = g.previous_level or "none"
        out.print(
            f"site {g.site_id} {g.site_name}: {was} → {g.level or 'none'}  {g.reason}",
            soft_wrap=True,
            highlight=False,
        )
    for change, outcome in cycle.told:
        w = outcome.warning
        warned = (
            ""
            if w is None
            else f", warning #{w.warning_id} ({'issued' if w.published else 'for review'})"
        )
        out.print(
            f"told {change.site_id} {change.kind} {change.level}: {outcome.sms} SMS{warned}",
            soft_wrap=True,
            highlight=False,
        )
    console.print(
        f"{run.readings} readings of {run.points} points up to {at.isoformat()}:"
        f" {len(run.changes)} change(s), {run.alarms_written} alarm row(s),"
        f" {run.events_written} event row(s) written; {len(cycle.grades)} site grade(s)"
        f" changed, {len(cycle.told)} notice(s)"
    )


def _zoned(text: str) -> datetime:
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise typer.BadParameter(f"not an ISO time: {text!r}", param_hint="--until") from exc
    if at.tzinfo is None:
        raise typer.BadParameter("give a zone, e.g. 2026-07-14T08:00+08:00", param_hint="--until")
    return at.astimezone(UTC)
