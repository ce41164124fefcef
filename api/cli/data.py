"""`riskmap data …`: generate and load the demo county, write its storm scenario."""

from __future__ import annotations

from pathlib import Path
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
)
from riskmap.api.cli.common import settings as get_settings

app = typer.Typer(help="Data sets: the demo county generator.", no_args_is_help=True)


@app.command("demo")
def data_demo(
    county: CountyOpt = None, villages: VillagesOpt = None, seed: SeedOpt = DEFAULT_SEED
) -> None:
    """Generate and load the demo county: a real outline, synthetic villages and resources."""
    from riskmap.api.cli.demo_load import load_demo

    settings = get_settings()
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
