"""What every command group shares: the consoles, settings and the migrated database URL.

Groups import this module and never each other, so the command line has no import circle.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from riskmap.geo.settings import Settings, get_settings

console = Console(stderr=True)  # progress and diagnostics
out = Console()  # results a script may read

DEFAULT_SEED = 20260723  # the demo county's generator seed (same seed, same county)
CountyOpt = Annotated[
    str | None, typer.Option("--county", help="GB/T 2260 county code (default: Mayang 431226)")
]
CityOpt = Annotated[
    str | None,
    typer.Option(
        "--city", help="GB/T 2260 city code, 4 or 6 digits (e.g. 4304: Hengyang, 12 counties)"
    ),
]
VillagesOpt = Annotated[
    int | None,
    typer.Option("--villages", min=1, max=1_000_000, help="village count (default: as reported)"),
]
SeedOpt = Annotated[int, typer.Option("--seed", help="generator seed (same seed, same county)")]


def settings() -> Settings:
    return get_settings()


def database_url(settings: Settings) -> str:
    """Resolve the URL (starting the embedded cluster on demand) and bring the schema up to date."""
    from riskmap.geo.db.migrate import migrate

    if settings.embedded:
        console.print(f"[dim]embedded database in {settings.pg_dir}[/dim]")
    url = settings.resolve_database_url()
    applied = migrate(url)
    if applied:
        console.print(f"applied {len(applied)} migration(s): {', '.join(applied)}")
    return url
