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
    dead band, hold time, flapping, device faults, maintenance windows), write ws_alarm and
    ws_event, and print what opened, escalated or cleared — 报警开启、升级、解除与设备故障."""
    import psycopg

    from riskmap.geo.worksafety.runner import run_alarms

    at = _zoned(until) if until else datetime.now(UTC)
    url = database_url(get_settings())
    with psycopg.connect(url) as conn:
        run = run_alarms(conn, at)
        conn.commit()
    for c in run.changes:
        when = datetime.fromtimestamp(c.at, UTC).astimezone(BEIJING).strftime("%m-%d %H:%M")
        tag = f"{c.kind}/{c.change}" + (f"/{c.fault_kind}" if c.fault_kind else "")
        out.print(f"{when}  {tag:<24} {c.summary_zh}", soft_wrap=True, highlight=False)
    console.print(
        f"{run.readings} readings of {run.points} points up to {at.isoformat()}:"
        f" {len(run.changes)} change(s), {run.alarms_written} alarm row(s),"
        f" {run.events_written} event row(s) written"
    )


def _zoned(text: str) -> datetime:
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise typer.BadParameter(f"not an ISO time: {text!r}", param_hint="--until") from exc
    if at.tzinfo is None:
        raise typer.BadParameter("give a zone, e.g. 2026-07-14T08:00+08:00", param_hint="--until")
    return at.astimezone(UTC)
