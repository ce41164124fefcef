"""`riskmap sites …`: work-safety sites (安全生产风险监测, issue 21) — load their configuration
files (监测点与预警值), run the alarm engine, find the villages below each tailings dam."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from riskmap.api.cli import site_alarms
from riskmap.api.cli.common import console, database_url, out, settings

app = typer.Typer(
    help="Work-safety sites (安全生产风险监测): monitoring points and graded thresholds (one YAML"
    " file per site), the villages below tailings dams.",
    no_args_is_help=True,
)
app.command("alarms")(site_alarms.alarms)  # the alarm engine's run (its own module)


@app.command("load")
def load(
    paths: Annotated[list[Path], typer.Argument(help="site files or folders of them")],
    check: Annotated[
        bool, typer.Option("--check", help="validate the files only, write nothing")
    ] = False,
) -> None:
    """Validate every file, then replace the sites' points and thresholds in one transaction
    (all files or none; a bad file is named). Points keep their number across reloads."""
    import psycopg

    from riskmap.geo.worksafety.load import load_sites, read_site_files

    files = read_site_files(paths)
    points = sum(len(f.config.points()) for f in files)
    if check:
        out.print(f"{len(files)} site file(s), {points} point(s): valid")
        return
    with psycopg.connect(database_url(settings())) as conn:
        done = load_sites(conn, files)
    out.print(
        f"loaded {len(done.sites)} site(s): {done.added} point(s) added, {done.kept} kept,"
        f" {len(done.removed)} removed, {done.thresholds} threshold(s)",
        highlight=False,
    )
    for pid in done.removed:
        out.print(f"  removed point {pid}", highlight=False)


@app.command("downstream")
def sites_downstream(
    dem: Annotated[
        Path | None,
        typer.Option("--dem", help="DEM GeoTIFF (default: the DEM catalogued in raster_layer)"),
    ] = None,
    site: Annotated[
        str | None, typer.Option("--site", help="one tailings dam's id (default: every dam)")
    ] = None,
    distance: Annotated[
        float, typer.Option("--distance", min=100, max=100_000, help="path length limit (m)")
    ] = 10_000.0,
    buffer: Annotated[
        float, typer.Option("--buffer", min=0, max=5_000, help="village distance to the path (m)")
    ] = 300.0,
) -> None:
    """Follow each tailings dam's D8 flow path from its toe (within --distance, below its
    crest) and store the villages within --buffer of it, nearest first (ws_site_downstream)."""
    import psycopg

    from riskmap.geo.risk.catalogue import catalogued_dem
    from riskmap.geo.worksafety.downstream_store import compute_downstream

    with psycopg.connect(database_url(settings())) as conn:
        path = dem if dem is not None else catalogued_dem(conn)
        console.print(f"DEM {path}")
        dams = compute_downstream(
            conn, path, site_id=site, max_distance_m=distance, buffer_m=buffer
        )
    for d in dams:
        out.print(
            f"{d.site_id} {d.site_name}: path {d.path.length_m:.0f} m ({d.path.stop_reason}),"
            f" crest {d.path.crest_elevation_m:.1f} m, {len(d.villages)} villages"
        )
        for v in d.villages:
            out.print(
                f"  {v.order}. {v.name} {v.code} {v.distance_m:.0f} m along,"
                f" {v.offset_m:.0f} m off, {v.below_crest_m:.1f} m below the crest"
            )
