"""`riskmap demo`: the whole pipeline on the demo county, then the server."""

from __future__ import annotations

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
) -> None:
    """Run the whole demo: database, demo county, pipeline; then serve the API."""
    from riskmap.api.cli.demo_load import load_demo

    s = settings()
    url = database_url(s)
    summary = load_demo(
        s, url, county or s.default_county, villages, seed, console, with_scenario=True
    )
    out.print(summary.table())
    if summary.timeline:
        out.print(summary.timeline_table())
    risk_build(county=county or s.default_county, dem=None, forest=None)
    demo_token(url)
    if no_serve:
        return
    run_server(s, s.host, s.port, s.workers)


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
