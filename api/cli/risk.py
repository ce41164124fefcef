"""`riskmap risk …`: build the village risk maps from the terrain."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from riskmap.api.cli.common import CityOpt, CountyOpt, console, database_url, out, settings
from riskmap.geo.errors import InvalidArgumentError

app = typer.Typer(
    help="Village risk maps (flash flood, geohazard, forest fire).", no_args_is_help=True
)


@app.command("build")
def risk_build(
    county: CountyOpt = None,
    dem: Annotated[
        Path | None,
        typer.Option(help="DEM GeoTIFF (default: each county's catalogued one)"),
    ] = None,
    forest: Annotated[
        Path | None, typer.Option(help="forest-cover GeoTIFF (default: derived, synthetic)")
    ] = None,
    city: CityOpt = None,
) -> None:
    """Compute every village's susceptibility, exposure and risk level per hazard: of every
    loaded county (each on its own DEM), or of ``--county`` / ``--city`` only."""
    import psycopg

    from riskmap.geo.risk.build import build_risk

    s = settings()
    url = database_url(s)
    cache = s.data_dir / "cache"
    with psycopg.connect(url) as conn:
        counties = _counties(conn, county, city)
        try:
            if dem is not None:  # one DEM given by hand: the villages it covers
                result = build_risk(
                    conn, dem, forest_path=forest, counties=counties, cache_dir=cache
                )
                _report(", ".join(counties or ["all counties"]), result)
                return
            runs = _build_counties(conn, counties, forest, cache)
        except ValueError as exc:
            raise InvalidArgumentError(str(exc)) from exc
    for codes, result in runs.runs:
        _report(", ".join(codes), result)
    if runs.no_dem:
        out.print(f"  [yellow]no DEM covers county {', '.join(runs.no_dem)}: not mapped[/]")
    if not runs.runs:
        raise InvalidArgumentError("no DEM in raster_layer (kind 'dem'); load the demo first")


def _counties(conn, county: str | None, city: str | None) -> list[str] | None:
    """The counties asked for: one, those of a city that have villages, or None (all)."""
    if county is not None and city is not None:
        raise InvalidArgumentError("give --county or --city, not both")
    if city is None:
        return [county] if county is not None else None
    from riskmap.geo.demo.city import loaded_counties

    codes = loaded_counties(conn, city)
    if not codes:
        raise InvalidArgumentError(f"no county of city {city} has villages; load it first")
    return codes


def _build_counties(conn, counties: list[str] | None, forest: Path | None, cache: Path):
    """Every county on its own DEM, with a progress bar (one step per DEM run)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from riskmap.geo.risk.counties import build_counties

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("risk maps", total=None)

        def step(codes: tuple[str, ...], i: int, n: int) -> None:
            bar.update(task, total=n, completed=i, description=f"risk maps: {', '.join(codes)}")

        runs = build_counties(conn, counties, forest_path=forest, cache_dir=cache, on_run=step)
        bar.update(task, completed=len(runs.runs), description="risk maps built")
    return runs


def _report(label: str, result) -> None:
    out.print(
        f"risk map: {result.villages} villages, {result.rows} rows"
        f" in {result.seconds.get('total', 0):.1f} s — {label}"
        + (" (forest cover synthetic)" if result.forest_synthetic else "")
    )
    for hazard, levels in sorted(result.levels.items()):
        counts = ", ".join(f"level {lvl}: {n}" for lvl, n in sorted(levels.items()))
        out.print(f"  {hazard}: {counts}")
    if result.skipped:
        out.print(
            f"  [yellow]{len(result.skipped)} village(s) outside the DEM were skipped"
            " (their earlier maps are kept)[/]"
        )
