"""`riskmap archive …`: synthetic archives of hourly rain grids, and per-village annual maxima."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated

import typer

from riskmap.api.cli.common import console, database_url, out
from riskmap.api.cli.common import settings as get_settings
from riskmap.geo.errors import InvalidArgumentError

app = typer.Typer(
    help="Rain archives: synthetic hourly grids, annual maxima.", no_args_is_help=True
)
BEIJING = timezone(timedelta(hours=8))


@app.command("synth")
def archive_synth(
    out_dir: Annotated[Path, typer.Option("--out", help="folder to write into")],
    preset: Annotated[
        str | None, typer.Option("--preset", help="hunan (0.05°, 10 y) or china (0.1°, 1 y)")
    ] = None,
    bbox: Annotated[
        str | None, typer.Option("--bbox", help="west,south,east,north in degrees (no preset)")
    ] = None,
    res: Annotated[float, typer.Option("--res", help="cell size in degrees (with --bbox)")] = 0.05,
    years: Annotated[int | None, typer.Option("--years", min=1, max=200)] = None,
    start: Annotated[int, typer.Option("--start", help="first year (UTC months)")] = 2015,
    seed: Annotated[int, typer.Option("--seed")] = 1,
    fmt: Annotated[str, typer.Option("--format", help="netcdf (one file a month) or zarr")] = (
        "netcdf"
    ),
) -> None:
    """Write a synthetic archive of hourly rain (CF precipitation_amount, mm): spatially
    correlated moving storms, heavy-tailed and seasonal; same seed, same bytes."""
    from riskmap.geo.archive import synth

    if (preset is None) == (bbox is None):
        raise InvalidArgumentError("give --preset (hunan, china) or --bbox, one of them")
    if preset is not None:
        if preset not in synth.PRESETS:
            raise InvalidArgumentError(f"--preset {preset!r}: one of {sorted(synth.PRESETS)}")
        spec, default_years = synth.PRESETS[preset]
    else:
        try:
            w, s, e, n = (float(v) for v in bbox.split(","))
        except ValueError:
            raise InvalidArgumentError(f"--bbox {bbox!r}: west,south,east,north") from None
        spec, default_years = synth.snapped_spec(w, s, e, n, res), 1
    if fmt not in ("netcdf", "zarr"):
        raise InvalidArgumentError(f"--format {fmt!r}: netcdf or zarr")
    began = time.perf_counter()
    paths = synth.generate(
        spec,
        start,
        years or default_years,
        seed,
        out_dir,
        fmt,
        progress=lambda m: console.print(f"[dim]{m:%Y-%m}[/dim]", end=" "),
    )
    console.print()
    out.print(
        f"{len(paths)} {fmt} file(s) in {out_dir}: grid {spec.shape[0]}×{spec.shape[1]} at"
        f" {spec.res}°, {years or default_years} year(s) from {start}, seed {seed},"
        f" {time.perf_counter() - began:.1f} s"
    )


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"not a date YYYY-MM-DD: {text!r}", param_hint=option) from None


@app.command("stats")
def archive_stats(
    grids: Annotated[str, typer.Option("--grids", help="folder or glob of NetCDF/GeoTIFF/Zarr")],
    date_from: Annotated[str, typer.Option("--from", help="first day (Beijing), YYYY-MM-DD")],
    date_to: Annotated[str, typer.Option("--to", help="last day (Beijing, inclusive)")],
    source: Annotated[str, typer.Option("--source", help="label of this archive's rows")] = (
        "archive"
    ),
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="dask scheduler address (tcp://host:port)")
    ] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, help="LocalCluster workers")] = 2,
    parquet: Annotated[Path | None, typer.Option("--parquet", help="also write GeoParquet")] = (
        None
    ),
    chunk_hours: Annotated[
        int | None, typer.Option("--chunk-hours", min=24, help="hours per Dask chunk")
    ] = None,
) -> None:
    """Per-village annual maxima of 1, 3, 6, 12 and 24 h rain (years in Beijing time, UTC+8;
    a window counts in the year of its end; windows with a missing hour are not counted; a year
    is complete with ≥ 90 % of its hours) → village_rain_annual_max and GeoParquet."""
    import psycopg

    from riskmap.geo.archive.run import run_archive_stats

    first, last = _day(date_from, "--from"), _day(date_to, "--to")
    if last < first:
        raise InvalidArgumentError(f"--to {last} is before --from {first}")
    start = datetime(first.year, first.month, first.day, tzinfo=BEIJING).astimezone(UTC)
    end = datetime(last.year, last.month, last.day, tzinfo=BEIJING) + timedelta(days=1)
    settings = get_settings()
    url = database_url(settings)
    with psycopg.connect(url) as conn:
        report = run_archive_stats(
            conn,
            grids,
            start,
            end.astimezone(UTC),
            source,
            settings.data_dir / "cache",
            scheduler=scheduler,
            workers=workers,
            parquet=parquet,
            chunk_hours=chunk_hours,
        )
    out.print(
        f"{report.rows} rows of source {report.source!r}: {report.villages} villages,"
        f" {report.files} file(s), {report.hours_present}/{report.hours} hours present,"
        f" {report.chunks} chunks, {report.seconds:.1f} s, peak RSS {report.peak_rss_mb:.0f} MB"
        + (f"; GeoParquet {report.parquet}" if report.parquet else "")
    )
