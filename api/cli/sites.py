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


@app.command("report")
def report(
    site: Annotated[str, typer.Argument(help="the site's id (hazardous_site.id)")],
    month: Annotated[str, typer.Option("--month", help="YYYY-MM (Beijing time)")],
) -> None:
    """A site's month (月度监测报告): per point the readings, the raw threshold crossings, the
    alarms raised and the device faults; the reduction of alarms against raw crossings."""
    import psycopg
    from rich.table import Table

    from riskmap.geo.worksafety.report import site_month
    from riskmap.geo.worksafety.vocabulary import ITEM_ZH, LEVEL_ZH

    with psycopg.connect(database_url(settings())) as conn:
        m = site_month(conn, site, month)
    t = Table(title=f"{m.site_name} {m.month} 月度监测报告 / monthly monitoring report")
    for col in (
        "监测项目 item",
        "测点 point",
        "读数",
        "越限 raw",
        "报警 alarms",
        "最高",
        "故障 faults",
    ):
        t.add_column(col, justify="left" if col[0] in "监测" else "right")
    for p in m.points:
        faults = ", ".join(f"{k} {n}" for k, n in sorted(p.faults.items())) or "—"
        t.add_row(
            ITEM_ZH.get(p.item, p.item), p.name, f"{p.readings:,}", f"{p.raw_crossings:,}",
            str(p.alarms), LEVEL_ZH.get(p.max_level, "—") if p.max_level else "—", faults,
        )  # fmt: skip
    out.print(t)
    cut = "—" if m.reduction is None else f"{m.reduction:.1f} %"
    out.print(
        f"越限 raw crossings {m.raw_crossings:,}; 报警 alarms {m.alarms:,} (fewer by {cut});"
        f" 事件 events {m.events}; 设备故障 faults {sum(m.faults.values())}; 通知 notices"
        f" {m.notices}",
        highlight=False,
    )


@app.command("retention")
def retention(
    keep_days: Annotated[
        int | None,
        typer.Option(
            "--keep-days", min=1, help="default: RISKMAP_HJ212_RETENTION_DAYS (the servers' own)"
        ),
    ] = None,
) -> None:
    """Drop the whole months of monitoring readings older than the retention (the reading
    servers do it themselves at start and every six hours)."""
    import psycopg

    from riskmap.geo.worksafety.readings import drop_old_readings
    from riskmap.ingest.worksafety.settings import get_hj212_settings

    days = keep_days if keep_days is not None else get_hj212_settings().retention_days
    if not days:
        out.print("retention is off (RISKMAP_HJ212_RETENTION_DAYS=0): nothing dropped")
        return
    with psycopg.connect(database_url(settings())) as conn:
        dropped = drop_old_readings(conn, days)
    out.print(f"readings kept for {days} days: {dropped} month(s) dropped", highlight=False)


@app.command("maintenance")
def maintenance(
    start: Annotated[str, typer.Option("--from", help="ISO time with a zone")],
    end: Annotated[str, typer.Option("--to", help="ISO time with a zone")],
    site: Annotated[str | None, typer.Option("--site", help="a whole site")] = None,
    point: Annotated[str | None, typer.Option("--point", help="one point")] = None,
    reason: Annotated[str, typer.Option("--reason", help="e.g. 标定 (calibration)")] = "",
) -> None:
    """Declare a maintenance window (检修/标定) of a site or a point: its alarms in the window
    are kept as suppressed — stored, not counted, not told."""
    from datetime import datetime

    import psycopg

    from riskmap.geo.worksafety.maintenance import add_window

    def when(text: str, option: str) -> datetime:
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as exc:
            raise typer.BadParameter(f"not an ISO time: {text!r}", param_hint=option) from exc

    with psycopg.connect(database_url(settings())) as conn:
        wid = add_window(
            conn, starts_at=when(start, "--from"), ends_at=when(end, "--to"),
            site_id=site, point_id=point, reason=reason,
        )  # fmt: skip
    out.print(f"maintenance window {wid}: {site or point} {start} → {end}", highlight=False)
