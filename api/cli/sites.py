"""`riskmap sites …`: load the work-safety site configuration files (监测点与预警值)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from riskmap.api.cli.common import database_url, out, settings

app = typer.Typer(
    help="Work-safety sites: monitoring points and graded thresholds, one YAML file per site.",
    no_args_is_help=True,
)


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
