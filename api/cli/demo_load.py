"""The face of the demo: generate and load a county with progress bars, and summarise it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from riskmap.api.cli.common import DEFAULT_SEED
from riskmap.geo.db.sqlfiles import load_sql
from riskmap.geo.demo.county import DemoCounty, generate
from riskmap.geo.demo.load import load, loaded_counts
from riskmap.geo.demo.scenario import DEFAULT_START, write_storm
from riskmap.geo.demo.site_readings import replay_site_readings
from riskmap.geo.plans import load_plans
from riskmap.geo.responses.demo import start_demo_responses
from riskmap.geo.settings import PROJECT_ROOT, Settings
from riskmap.geo.vocabulary import BEIJING
from riskmap.geo.warnings.cycle import reset_for_demo, run_cycle
from riskmap.geo.worksafety.cycle import run_cycle as run_site_cycle
from riskmap.ingest.pipeline import Summary, forget
from riskmap.ingest.replay import replay

# The storm rises from 08:00 Beijing time and dies out in the evening; stop at 22:00 so the demo
# ends with warnings still open (rivers, reservoirs, geohazard) after the rain ones ran out.
TIMELINE_HOURS = 14


def live_storm_start(now: datetime | None = None) -> datetime:
    """The storm day placed so that its last hour is the current one: the demo's open warnings
    are then in force *now*, as a duty officer opening the console would see them (a storm
    replayed on its bundled July date has long expired)."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    return now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=TIMELINE_HOURS)


GENERATION_STEPS = 6  # boundaries, villages, terrain, stations, hazards, resources


@dataclass(frozen=True)
class DemoSummary:
    county_code: str
    county_name: str
    dataset_id: str
    rows: dict[str, int]
    read_back: dict[str, int]
    seconds: float
    replayed: list[Summary] | None = None
    timeline: list[dict] | None = None
    storm_start: datetime | None = None

    def table(self) -> Table:
        """A rich table of what was loaded, for the terminal."""
        t = Table(title=f"{self.county_name} ({self.county_code}) — {self.dataset_id}")
        t.add_column("table")
        t.add_column("rows", justify="right")
        for name, n in self.rows.items():
            t.add_row(name, f"{n:,}")
        caption = (
            f"{self.read_back['townships']} townships, {self.read_back['villages']} villages,"
            f" {self.read_back['population']:,} people (synthetic) in {self.seconds:.1f} s"
        )
        if self.replayed is not None:
            by_status: dict[str, int] = {}
            for s in self.replayed:
                by_status[s.status] = by_status.get(s.status, 0) + 1
            rows = sum(s.rows_loaded for s in self.replayed)
            caption += (
                f"; storm scenario: {len(self.replayed)} feed files replayed"
                f" ({', '.join(f'{n} {k}' for k, n in sorted(by_status.items()))}),"
                f" {rows:,} rows"
            )
        t.caption = caption
        return t

    def _storm_day(self) -> str:
        start = self.storm_start or DEFAULT_START
        return start.astimezone(BEIJING).strftime("%Y-%m-%d")

    def site_lines(self) -> list[str]:
        """The work-safety sites through the storm: each grade change and device fault, by
        the hour (Beijing time)."""
        return [
            f"{row['at'].astimezone(BEIJING):%H:%M} {line}"
            for row in self.timeline or []
            for line in row.get("site_changes", [])
        ]

    def timeline_table(self) -> Table:
        """The storm hour by hour: what the rules proposed and what the lifecycle did."""
        t = Table(
            title=f"{self._storm_day()} 暴雨过程预警 / warnings through the storm (Beijing time)",
            caption="fired: rule proposals; up/down: escalated/de-escalated; ended: expired"
            " with all-clear; open: candidate + issued by colour (blue/yellow/orange/red);"
            " site: the highest work-safety site grade (GB 39496 §5.5.4)",
        )
        # short headers, explained in the caption: the table must fit an 80-column terminal
        for col in (
            "time",
            "fired",
            "new",
            "issued",
            "up",
            "down",
            "ended",
            "open B/Y/O/R",
            "site",
        ):
            t.add_column(col, justify="right" if col != "time" else "left")
        for row in self.timeline or []:
            c = row["counts"]
            t.add_row(
                row["at"].astimezone(BEIJING).strftime("%H:%M"),
                str(row["proposals"]),
                str(c.get("propose", 0)),
                str(c.get("issue", 0)),
                str(c.get("escalate", 0)),
                str(c.get("deescalate", 0)),
                str(c.get("expire", 0)),
                "/".join(str(row["open"].get(k, 0)) for k in ("blue", "yellow", "orange", "red")),
                row.get("site", "-"),
            )
        return t


def roster_start(now: datetime | None = None) -> datetime:
    """Duty rosters start three days ago at 08:00 Beijing time (00:00 UTC), so 'now' is covered."""
    now = now or datetime.now(UTC)
    return (now - timedelta(days=3)).replace(hour=0, minute=0, second=0, microsecond=0)


def _generate(settings: Settings, county: str, villages: int | None, seed: int, progress=None):
    return generate(
        county,
        villages=villages,
        seed=seed,
        bundled_path=settings.boundaries_path,
        out_dir=settings.data_dir / "generated" / county,
        roster_start=roster_start(),
        progress=progress or (lambda _step: None),
    )


def scenario_dir(
    settings: Settings,
    county: str,
    villages: int | None,
    seed: int,
    start: datetime = DEFAULT_START,
    confine: bool = False,
) -> Path:
    """The bundled storm for the default demo on its own date; others (and every other date,
    and storms confined to their county) are generated next to their demo."""
    bundled = PROJECT_ROOT / "data" / "scenarios" / f"storm-{county}"
    default = seed == DEFAULT_SEED and villages is None and not confine
    if default and start == DEFAULT_START and (bundled.is_dir() or county == "431226"):
        return bundled
    name = f"storm-{seed}-{villages or 'default'}" + ("-confined" if confine else "")
    return settings.data_dir / "generated" / county / name


_START_MARK = "storm-start.txt"  # the start a generated folder was written for


def write_scenario(
    settings: Settings,
    county: str,
    seed: int,
    out_dir: Path | None = None,
    villages: int | None = None,
    demo: DemoCounty | None = None,
    start: datetime = DEFAULT_START,
    until: datetime | None = None,
    confine: bool = False,
) -> list[Path]:
    """Write the storm day's feed files for the demo county built from ``seed`` (only what
    happened by ``until``, when given; ``confine``: kept inside the county, see
    :func:`~riskmap.geo.demo.scenario.write_storm`)."""
    demo = demo or _generate(settings, county, villages, seed)
    target = out_dir or scenario_dir(settings, county, villages, seed, start, confine)
    if target.exists():
        for old in target.iterdir():
            if old.suffix != ".md":
                old.unlink()
    files = write_storm(demo, target, start=start, until=until, confine=confine)
    if start != DEFAULT_START or until is not None:
        (target / _START_MARK).write_text(_mark(start, until), encoding="utf-8")
    return files


def load_demo(
    settings: Settings,
    url: str,
    county: str,
    villages: int | None,
    seed: int,
    console: Console,
    *,
    with_scenario: bool = False,
    storm_start: datetime | None = None,
) -> DemoSummary:
    """Generate the demo county and load it (and replay its storm, by default ending at the
    current hour: see :func:`live_storm_start`), showing progress."""
    start = storm_start or live_storm_start()
    # a storm placed to end now stops at the current hour: the rest of its day has not happened
    until = start + timedelta(hours=TIMELINE_HOURS) if storm_start is None else None
    started = time.perf_counter()
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:
        gen = bar.add_task(f"generating {county}", total=GENERATION_STEPS)
        demo = _generate(
            settings,
            county,
            villages,
            seed,
            lambda step: bar.update(gen, advance=1, description=f"generating {county}: {step}"),
        )
        bar.update(gen, completed=GENERATION_STEPS, description=f"generated {county}")
        task = bar.add_task("loading into PostGIS", total=len(demo.tables))
        with psycopg.connect(url) as conn:
            rows = load(
                conn,
                demo,
                progress=lambda table, i, _n: bar.update(
                    task, completed=i, description=f"loading {table}"
                ),
                grid_cache_dir=settings.data_dir / "cache",
            )
            read_back = loaded_counts(conn, demo.dataset["id"])
            conn.commit()
            bar.update(task, description="loaded into PostGIS")
            replayed = None
            timeline = None
            if with_scenario:
                replayed, timeline = replay_storm(
                    conn, settings, demo, villages, seed, bar, start, until
                )
    return DemoSummary(
        county_code=demo.county.code,
        county_name=demo.county.name,
        dataset_id=demo.dataset["id"],
        rows=rows,
        read_back=read_back,
        seconds=time.perf_counter() - started,
        replayed=replayed,
        timeline=timeline if with_scenario else None,
        storm_start=start if with_scenario else None,
    )


def replay_storm(
    conn: psycopg.Connection,
    settings: Settings,
    demo: DemoCounty,
    villages: int | None,
    seed: int,
    bar: Progress,
    start: datetime,
    until: datetime | None,
    *,
    confine: bool = False,
) -> tuple[list[Summary], list[dict]]:
    """Replay the storm over ``demo``'s county (``confine``: its neighbours stay dry) and run
    the rules hour by hour through it."""
    county = demo.county.code
    folder = scenario_dir(settings, county, villages, seed, start, confine)
    if _stale(folder, start, until):
        # an earlier run's storm (another date): forget what it loaded, then rewrite
        forget(conn, [str(p) for p in _feed_files(folder)])
        conn.commit()
        write_scenario(settings, county, seed, folder, villages, demo, start, until, confine)
    files = _feed_files(folder)
    forget(conn, [str(p) for p in files])  # a re-run replays the storm afresh
    task = bar.add_task(f"replaying the storm over {county}", total=len(files))
    replayed = replay(
        conn,
        folder,
        data_dir=settings.data_dir,
        on_summary=lambda s: bar.update(
            task, advance=1, description=f"replaying {Path(s.source).name}"
        ),
    )
    bar.update(task, description=f"replayed the storm over {county}")
    # the work-safety devices through the same storm (written, then alarmed hour by hour)
    replay_site_readings(conn, county, start, TIMELINE_HOURS, seed=seed)
    timeline = storm_timeline(conn, settings, bar, start)
    noise = [
        f"{site} {point}：频繁波动，{n} 次越限报警识别为噪声，未通知任何人"
        for site, point, n, _counted in conn.execute(
            load_sql("riskmap.geo.demo.sql", "flapping_points.sql"), {"county": county}
        )
    ]
    if timeline and noise:
        timeline[-1].setdefault("site_changes", []).extend(noise)
    return replayed, timeline


def _highest(levels) -> str:
    """The most severe site grade as a letter (B/Y/O/R), "-" when none."""
    order = ("blue", "yellow", "orange", "red")
    found = [order.index(lv) for lv in levels if lv in order]
    return "BYOR"[max(found)] if found else "-"


def _feed_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return [p for p in folder.iterdir() if p.suffix not in (".md", ".txt")]


def _mark(start: datetime, until: datetime | None) -> str:
    return start.isoformat() if until is None else f"{start.isoformat()} until {until.isoformat()}"


def _stale(folder: Path, start: datetime, until: datetime | None = None) -> bool:
    """Whether ``folder`` lacks the storm of ``start`` (missing, empty or of another date)."""
    if not folder.is_dir() or not any(folder.glob("*.nc")):
        return True
    if start == DEFAULT_START and until is None and not (folder / _START_MARK).exists():
        return False  # the bundled files, or a folder written for the bundled date
    mark = folder / _START_MARK
    return not mark.exists() or mark.read_text(encoding="utf-8").strip() != _mark(start, until)


def storm_timeline(
    conn: psycopg.Connection, settings: Settings, bar: Progress, start: datetime = DEFAULT_START
) -> list[dict]:
    """Run the rules hour by hour through the storm, as the duty officers would have seen it."""
    removed = reset_for_demo(conn)
    if removed:
        bar.console.print(f"demo: cleared {removed} warning(s) of an earlier demo run")
    hours = [start + timedelta(hours=h) for h in range(1, TIMELINE_HOURS + 1)]
    task = bar.add_task("running the rules through the storm", total=len(hours))
    rows = []
    site_levels: dict[str, str | None] = {}
    for at in hours:
        result = run_cycle(conn, at, settings.rule_dirs, settings.plan_dirs)
        start_demo_responses(conn, load_plans(settings.plan_dirs), at)  # the demo commander
        sites = run_site_cycle(conn, at)  # work-safety alarms, site grades, notices
        for g in sites.grades:
            site_levels[g.site_id] = g.level
        conn.commit()
        open_by_colour: dict[str, int] = {}
        for _status, colour, n in conn.execute(
            load_sql("riskmap.geo.warnings.sql", "active_summary.sql")
        ):
            open_by_colour[colour] = open_by_colour.get(colour, 0) + n
        rows.append(
            {
                "at": at,
                "proposals": len(result.proposals),
                "counts": result.counts(),
                "open": open_by_colour,
                "site": _highest(site_levels.values()),
                "site_changes": [
                    f"{g.site_name} {g.previous_level or '—'} → {g.level or '—'}：{g.reason}"
                    for g in sites.grades
                ]
                + [f"{c.summary_zh}（{o.sms} 条短信）" for c, o in sites.told if c.kind == "fault"]
                + [
                    f"尾矿库红色报警：下游村庄立即转移预警 #{o.warning.warning_id} "
                    f"{'已发布' if o.warning.published else '待指挥长审核'}（{o.sms} 条短信）"
                    for _c, o in sites.told
                    if o.warning is not None
                ],
            }
        )
        bar.update(task, advance=1)
    conn.commit()
    return rows
