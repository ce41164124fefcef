"""`riskmap data …`: generate and load the demo county, write its storm scenario."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from riskmap.api.cli.common import (
    DEFAULT_SEED,
    CityOpt,
    CountyOpt,
    SeedOpt,
    VillagesOpt,
    console,
    database_url,
    out,
)
from riskmap.api.cli.common import settings as get_settings
from riskmap.geo.errors import InvalidArgumentError

app = typer.Typer(help="Data sets: the demo county generator.", no_args_is_help=True)


@app.command("demo")
def data_demo(
    county: CountyOpt = None,
    villages: VillagesOpt = None,
    seed: SeedOpt = DEFAULT_SEED,
    city: CityOpt = None,
) -> None:
    """Generate and load the demo county (or every county of ``--city``, ``--villages`` each,
    with their risk maps): real outlines, synthetic villages and resources. Other loaded counties
    are left as they are."""
    settings = get_settings()
    if city is not None:
        from riskmap.api.cli.demo_city import load_city

        if county is not None:
            raise InvalidArgumentError("give --county or --city, not both")
        from riskmap.api.cli.risk import risk_build

        url = database_url(settings)
        out.print(load_city(settings, url, city, villages, seed, console).table())
        # a city is loaded to be looked at: every village gets its risk maps (each county on
        # its own DEM), as `riskmap demo --city` does
        risk_build(county=None, dem=None, forest=None, city=city)
        return
    from riskmap.api.cli.demo_load import load_demo

    url = database_url(settings)
    summary = load_demo(settings, url, county or settings.default_county, villages, seed, console)
    out.print(summary.table())


@app.command("scenario")
def data_scenario(
    county: CountyOpt = None,
    seed: SeedOpt = DEFAULT_SEED,
    out_dir: Annotated[Path | None, typer.Option("--out", help="folder to write")] = None,
) -> None:
    """Write the storm scenario's feed files for a demo county (no database needed)."""
    from riskmap.api.cli.demo_load import write_scenario

    settings = get_settings()
    files = write_scenario(settings, county or settings.default_county, seed, out_dir)
    out.print(f"wrote {len(files)} feed files to {files[0].parent}")
