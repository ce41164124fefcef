"""`riskmap risk …`: build the village risk maps from the terrain."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from riskmap.api.cli.common import CountyOpt, database_url, out, settings
from riskmap.geo.errors import InvalidArgumentError

app = typer.Typer(
    help="Village risk maps (flash flood, geohazard, forest fire).", no_args_is_help=True
)


@app.command("build")
def risk_build(
    county: CountyOpt = None,
    dem: Annotated[
        Path | None, typer.Option(help="DEM GeoTIFF (default: the catalogued one)")
    ] = None,
    forest: Annotated[
        Path | None, typer.Option(help="forest-cover GeoTIFF (default: derived, synthetic)")
    ] = None,
) -> None:
    """Compute every village's susceptibility, exposure and risk level per hazard."""
    import psycopg

    from riskmap.geo.risk.build import build_risk
    from riskmap.geo.risk.catalogue import catalogued_dem

    s = settings()
    url = database_url(s)
    with psycopg.connect(url) as conn:
        try:
            dem_path = dem or catalogued_dem(conn, county)
        except FileNotFoundError as exc:
            raise InvalidArgumentError(str(exc)) from exc
        result = build_risk(
            conn, dem_path, forest_path=forest, county=county, cache_dir=s.data_dir / "cache"
        )
    out.print(
        f"risk map: {result.villages} villages, {result.rows} rows"
        f" in {result.seconds.get('total', 0):.1f} s"
        + (" (forest cover synthetic)" if result.forest_synthetic else "")
    )
    for hazard, levels in sorted(result.levels.items()):
        counts = ", ".join(f"level {lvl}: {n}" for lvl, n in sorted(levels.items()))
        out.print(f"  {hazard}: {counts}")
    if result.skipped:
        out.print(f"  [yellow]{len(result.skipped)} village(s) outside the DEM were skipped[/]")
