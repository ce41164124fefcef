"""`riskmap demo`: the whole pipeline on the demo county, then the server."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from riskmap.api.cli.common import (
    DEFAULT_SEED,
    CountyOpt,
    SeedOpt,
    VillagesOpt,
    console,
    database_url,
    out,
    settings,
)
from riskmap.api.cli.risk import risk_build
from riskmap.api.cli.serve import run_server


def demo(
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="load and exit, do not serve")
    ] = False,
    county: CountyOpt = None,
    villages: VillagesOpt = None,
    seed: SeedOpt = DEFAULT_SEED,
    storm_start: Annotated[
        str | None,
        typer.Option(
            "--storm-start",
            help="when the storm day begins (ISO time with zone, e.g. 2026-07-14T00:00Z, the"
            " bundled files' date); default: so that it ends at the current hour",
        ),
    ] = None,
) -> None:
    """Run the whole demo: database, demo county, the storm's feeds and rules; then serve."""
    from riskmap.api.cli.demo_load import load_demo

    start = _zoned(storm_start, "--storm-start") if storm_start else None
    s = settings()
    url = database_url(s)
    summary = load_demo(
        s,
        url,
        county or s.default_county,
        villages,
        seed,
        console,
        with_scenario=True,
        storm_start=start,
    )
    out.print(summary.table())
    if summary.timeline:
        out.print(summary.timeline_table())
    risk_build(county=county or s.default_county, dem=None, forest=None)
    demo_token(url)
    if no_serve:
        return
    run_server(s, s.host, s.port, s.workers)


def _zoned(text: str, option: str) -> datetime:
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise typer.BadParameter(f"not an ISO time: {text!r}", param_hint=option) from exc
    if at.tzinfo is None:
        raise typer.BadParameter("give a zone, e.g. 2026-07-14T08:00+08:00", param_hint=option)
    return at.astimezone(UTC)


def demo_token(url: str) -> None:
    """A forecaster account for trying the review actions on the demo's candidates."""
    import psycopg

    from riskmap.api.users import add_user, new_token

    with psycopg.connect(url, autocommit=True) as conn:
        add_user(conn, "demo-forecaster", "forecaster", display_name="演示预报员")
        token = new_token(conn, "demo-forecaster", label="make demo")
    out.print(
        "demo forecaster token (review actions; `riskmap users` manages accounts):\n"
        f"  export RISKMAP_TOKEN={token}\n"
        '  curl -H "Authorization: Bearer $RISKMAP_TOKEN" http://127.0.0.1:8000/api/me'
    )
