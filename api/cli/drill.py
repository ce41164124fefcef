"""`riskmap drill …`: replay a scenario as an exercise (演练), deliver it, score it.

``drill run storm`` replays the bundled storm day into a schema of its own (see
:mod:`riskmap.geo.drills.twin`), runs the real rules, lifecycle and plans hour by hour there
(every warning CAP status Exercise, every text marked 演练), delivers each hour's messages and
prints the drill report. ``drill list`` shows them, ``drill report`` scores one again and
``drill drop`` removes one.

Targets default to ``reference``: loudspeakers are pointed at the reference receiver (a
township controller that journals and acknowledges what it would play) and no SMS leaves the
building. A replayed storm sounded on real village loudspeakers, even as 演练, wakes villages
for rain that is not falling and needs the townships told and the public notified beforehand;
``--targets real`` is for that announced drill, and then every message still says 演练.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Literal

import typer

from riskmap.api.cli.common import CountyOpt, console, database_url, out, settings

app = typer.Typer(help="drills (演练): replay a scenario as an exercise", no_args_is_help=True)
DEFAULT_COUNTY = "431226"
DEFAULT_RECEIVER = "http://127.0.0.1:8900"  # `riskmap receiver`'s default port
_STAMP = re.compile(r"^(\d{8}T\d{4})Z")


@app.command("run")
def run(
    scenario: Annotated[
        str, typer.Argument(help="'storm' (the bundled storm day) or a folder of feed files")
    ] = "storm",
    county: CountyOpt = None,
    targets: Annotated[
        Literal["reference", "real"],
        typer.Option(help="reference: the reference receiver only; real: terminals and phones"),
    ] = "reference",
    start: Annotated[
        str | None, typer.Option(help="scenario start (ISO with zone; default: its own date)")
    ] = None,
    hours: Annotated[
        int | None, typer.Option(min=1, max=72, help="hours to run (default: the whole scenario)")
    ] = None,
    receiver: Annotated[
        str, typer.Option(help="the reference receiver's URL (targets reference)")
    ] = DEFAULT_RECEIVER,
    ack_wait: Annotated[
        float, typer.Option(min=0, help="seconds to wait for loudspeakers to confirm at the end")
    ] = 30.0,
    hour_wait: Annotated[
        float,
        typer.Option(
            min=0, help="seconds each hour may wait for its confirmations before the next hour"
        ),
    ] = 5.0,
    review_after: Annotated[
        int,
        typer.Option(
            min=0,
            max=600,
            help="minutes after which the drill's stand-in forecaster issues a candidate",
        ),
    ] = 20,
    no_review: Annotated[
        bool, typer.Option("--no-review", help="no stand-in forecaster: candidates wait")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Replay SCENARIO as a drill: Exercise warnings kept apart from real ones, then a report."""
    import psycopg

    from riskmap.api.dispatch import keys, service
    from riskmap.geo import drills

    s = settings()
    url = database_url(s)
    code = county or DEFAULT_COUNTY
    begin = _parse_time(start)
    folder, begin, span = _scenario(s, scenario, code, begin)
    spec = drills.DrillSpec(
        scenario=scenario,
        county=code,
        start=begin,
        end=begin + timedelta(hours=hours or span),
        targets=targets,
        receiver_url=receiver.rstrip("/") if targets == "reference" else None,
    )
    with psycopg.connect(url) as conn:
        if conn.execute("SELECT 1 FROM admin_unit WHERE code = %s", [code]).fetchone() is None:
            raise typer.BadParameter(f"county {code} is not loaded (riskmap data demo --county)")
        keys.ensure_keys(conn, service.installation_key(s))  # the real dispatcher does the same
        conn.commit()
        drill = drills.open_drill(conn, spec)
        console.print(
            f"演练 {drill['id']}: schema {drill['schema_name']}, targets {targets}"
            + (f" → {spec.receiver_url}" if spec.receiver_url else "")
        )
        try:
            review = None if no_review else timedelta(minutes=review_after)
            waits = (hour_wait, ack_wait)
            asyncio.run(_exercise(conn, s, url, drill, folder, waits, review))
        except BaseException as exc:
            conn.rollback()
            drills.finish_drill(conn, drill["id"], error=f"{type(exc).__name__}: {exc}"[:2000])
            raise
        drills.finish_drill(conn, drill["id"])
        result = drills.drill_report(conn, drills.get_drill(conn, drill["id"]))
        conn.rollback()  # the report only read
    _print(result, as_json)


def _print(report: dict, as_json: bool) -> None:
    from riskmap.geo.drills import report_lines

    if as_json:
        out.print_json(json.dumps(report, default=_iso, ensure_ascii=False))
        return
    for line in report_lines(report):
        out.print(line, markup=False, highlight=False, soft_wrap=True)


async def _exercise(
    conn,
    s,
    url: str,
    drill: dict,
    folder: Path,
    waits: tuple[float, float],
    review: timedelta | None,
) -> None:
    """Replay the feeds into the drill, then hour by hour: the cycle, then delivery (and a
    short wait for the loudspeakers' confirmations, so a day replayed in minutes does not
    flood the receivers with every hour at once)."""
    hour_wait, ack_wait = waits
    from rich.progress import Progress

    from riskmap.api.cli.drill_delivery import DrillDelivery
    from riskmap.geo import drills
    from riskmap.geo.plans import load_plans
    from riskmap.ingest.feeds.upstream_cap.trust import load_trusted_certs
    from riskmap.ingest.pipeline import ingest_file

    drills.enter(conn, drill["schema_name"])
    conn.commit()
    files = _feed_files(folder)
    plans = load_plans(s.plan_dirs)
    trusted = load_trusted_certs(s.cap_trusted_certs)  # a drill checks CAP signatures as live
    start, end = drill["scenario_start"], drill["scenario_end"]
    hours = [
        start + timedelta(hours=h) for h in range(1, int((end - start) / timedelta(hours=1)) + 1)
    ]
    delivery = DrillDelivery(s, url, drill)
    try:
        with Progress(console=console, transient=False) as bar:
            feeds = bar.add_task("演练: replaying the feeds", total=len(files))
            for path in files:
                ingest_file(conn, path, data_dir=s.data_dir, trusted_certs=trusted)
                bar.update(feeds, advance=1)
            cycle = bar.add_task("演练: rules, warnings, delivery by the hour", total=len(hours))
            for at in hours:
                drills.drill_cycle(conn, at, s.rule_dirs, s.plan_dirs, plans, review_after=review)
                conn.commit()
                await delivery.deliver(at)
                await delivery.wait_for_acks(hour_wait)
                bar.update(cycle, advance=1)
        waiting = await delivery.wait_for_acks(ack_wait)
        if waiting:
            console.print(f"演练: {waiting} broadcast(s) not confirmed after {ack_wait:g} s")
    finally:
        await delivery.aclose()


def _iso(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _parse_time(text: str | None) -> datetime | None:
    if text is None:
        return None
    at = datetime.fromisoformat(text)
    if at.tzinfo is None:
        raise typer.BadParameter("give a zone, e.g. 2026-07-14T08:00+08:00 or ...Z")
    return at.astimezone(UTC)


def _scenario(s, scenario: str, county: str, start: datetime | None) -> tuple[Path, datetime, int]:
    """The folder of feed files, the scenario's start and its length in hours."""
    if scenario == "storm":
        from riskmap.api.cli.common import DEFAULT_SEED
        from riskmap.api.cli.demo_load import _stale, scenario_dir, write_scenario
        from riskmap.geo.demo.scenario import DEFAULT_START
        from riskmap.geo.demo.scenario.storm import HOURS

        begin = start or DEFAULT_START
        folder = scenario_dir(s, county, None, DEFAULT_SEED, begin)
        if _stale(folder, begin):
            console.print(f"演练: writing the storm over {county} from {begin.isoformat()}")
            write_scenario(s, county, DEFAULT_SEED, folder, None, None, begin)
        return folder, begin, HOURS
    folder = Path(scenario)
    stamps = sorted(
        datetime.strptime(m.group(1), "%Y%m%dT%H%M").replace(tzinfo=UTC)
        for p in _feed_files(folder)
        if (m := _STAMP.match(p.name))
    )
    if not stamps:
        raise typer.BadParameter(
            f"{scenario}: no feed files named <UTC time>Z… (e.g. 20260714T0100Z_…)"
        )
    first = stamps[0].replace(minute=0)
    span = max(1, int((stamps[-1] - first) / timedelta(hours=1)) + 1)
    return folder, start or first, span


def _feed_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise typer.BadParameter(f"no scenario folder {folder}")
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() not in {".md", ".txt"}
    )


@app.command("report")
def report(
    drill_id: Annotated[int, typer.Argument(min=1, help="the drill's id (riskmap drill list)")],
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Print a drill's report again (confirmations that came late are counted now)."""
    import psycopg

    from riskmap.geo import drills

    with psycopg.connect(database_url(settings())) as conn:
        result = drills.drill_report(conn, drills.get_drill(conn, drill_id))
        conn.rollback()
    _print(result, as_json)


@app.command("list")
def list_(
    limit: Annotated[int, typer.Option(min=1, max=1000, help="newest first, at most")] = 20,
) -> None:
    """Drills, newest first: id, status, scenario, county, targets, start (and why it failed:
    a drill whose process was killed shows as failed, not running)."""
    import psycopg
    from psycopg.rows import dict_row

    from riskmap.geo import drills

    with psycopg.connect(database_url(settings()), row_factory=dict_row) as conn:
        rows = drills.list_drills(conn, limit)
    for d in rows:
        out.print(
            f"{d['id']}\t{d['status']}\t{d['scenario']}\t{d['county_code']}\t{d['targets']}"
            f"\t{d['scenario_start'].isoformat()}"
            + (f"\t{d['error']}" if d["status"] == "failed" else ""),
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


@app.command("drop")
def drop(
    drill_id: Annotated[int, typer.Argument(min=1, help="the drill's id (riskmap drill list)")],
    force: Annotated[
        bool, typer.Option("--force", help="drop it even while its process is still running")
    ] = False,
) -> None:
    """Remove a drill: its schema (warnings, messages, tasks) and its line in the list."""
    import psycopg

    from riskmap.geo import drills

    with psycopg.connect(database_url(settings())) as conn:
        gone = drills.drop_drill(conn, drill_id, force=force)
    out.print(
        f"演练 {drill_id} dropped: schema drill_{drill_id} and its record ({gone['status']},"
        f" {gone['scenario']}, {gone['county_code']})",
        markup=False,
        highlight=False,
    )
