"""`riskmap duty …`: who is on duty, and the daily duty report (值班日报) as a file."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import psycopg
import typer

from riskmap.api.cli.common import CountyOpt, console, database_url, out, settings

app = typer.Typer(help="Duty (值班值守): the roster now and the daily duty report.")
POST_ORDER = ("leader", "chief")


@app.command("report")
def report(
    day: Annotated[str, typer.Option("--date", help="the Beijing day, e.g. 2026-07-14")],
    out_file: Annotated[
        Path, typer.Option("--out", help="the file to write: .pdf for PDF, else HTML")
    ],
    county: CountyOpt = None,
) -> None:
    """Write the 值班日报 of one day (00:00–24:00 Beijing time) for a county or city."""
    from riskmap.geo.duty.render import render_html, render_pdf
    from riskmap.geo.duty.report import build_report

    try:
        when = date.fromisoformat(day)
    except ValueError:
        raise typer.BadParameter("a date like 2026-07-14", param_hint="--date") from None
    s = settings()
    with psycopg.connect(database_url(s)) as conn:
        built = build_report(conn, when, county or s.default_county)
    if out_file.suffix.lower() == ".pdf":
        out_file.write_bytes(render_pdf(built))
    else:
        out_file.write_text(render_html(built), encoding="utf-8")
    console.print(
        f"{built.area_name} {when}: {len(built.issued)} warning(s) issued,"
        f" {len(built.not_reached)} village(s) not reached"
    )
    out.print(str(out_file))


@app.command("now")
def now(
    at: Annotated[str | None, typer.Option(help="a time with zone (default now)")] = None,
    county: CountyOpt = None,
) -> None:
    """Print who is on duty (leader, chief, officers) in each office of the county."""
    from riskmap.geo.duty.report import area_prefix
    from riskmap.geo.duty.roster import POST_ZH, on_duty

    when = datetime.fromisoformat(at) if at else datetime.now(UTC)
    if when.tzinfo is None:
        raise typer.BadParameter("give a zone, e.g. 2026-07-14T18:00+08:00", param_hint="--at")
    s = settings()
    with psycopg.connect(database_url(s)) as conn:
        offices = on_duty(conn, when, area_prefix(county or s.default_county))
    for o in offices:
        people = [f"{POST_ZH[p]} {o[p]['name']} {o[p]['phone']}" for p in POST_ORDER if o[p]]
        people += [f"{POST_ZH['officer']} {x['name']} {x['phone']}" for x in o["officers"]]
        head = f"{o['org_name']} ({o['org_code']}) 值班电话 {o['duty_phone']}"
        out.print(f"{head}: " + "；".join(people))
    if not offices:
        out.print("no one on duty in the roster at that time")
