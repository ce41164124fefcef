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
from riskmap.geo.settings import PROJECT_ROOT, Settings
from riskmap.geo.vocabulary import BEIJING
from riskmap.geo.warnings.cycle import reset_for_demo, run_cycle
from riskmap.ingest.pipeline import Summary, forget
from riskmap.ingest.replay import replay

# The storm rises from 08:00 Beijing time and dies out in the evening; stop at 22:00 so the demo
# ends with warnings still open (rivers, reservoirs, geohazard) after the rain ones ran out.
TIMELINE_HOURS = 14

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

    def timeline_table(self) -> Table:
        """The storm hour by hour: what the rules proposed and what the lifecycle did."""
        t = Table(
            title="2026-07-14 暴雨过程预警 / warnings through the storm (Beijing time)",
            caption="fired: rule proposals; up/down: escalated/de-escalated; ended: expired"
            " with all-clear; open: candidate + issued by colour (blue/yellow/orange/red)",
        )
        # short headers, explained in the caption: the table must fit an 80-column terminal
        for col in ("time", "fired", "new", "issued", "up", "down", "ended", "open B/Y/O/R"):
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


def scenario_dir(settings: Settings, county: str, villages: int | None, seed: int) -> Path:
    """The bundled storm for the default demo; others are generated next to their demo."""
    bundled = PROJECT_ROOT / "data" / "scenarios" / f"storm-{county}"
    if seed == DEFAULT_SEED and villages is None and (bundled.is_dir() or county == "431226"):
        return bundled
    return settings.data_dir / "generated" / county / f"storm-{seed}-{villages or 'default'}"


def write_scenario(
    settings: Settings,
    county: str,
    seed: int,
    out_dir: Path | None = None,
    villages: int | None = None,
    demo: DemoCounty | None = None,
) -> list[Path]:
    """Write the storm day's feed files for the demo county built from ``seed``."""
    demo = demo or _generate(settings, county, villages, seed)
    target = out_dir or scenario_dir(settings, county, villages, seed)
    if target.exists():
        for old in target.iterdir():
            if old.suffix != ".md":
                old.unlink()
    return write_storm(demo, target)


def load_demo(
    settings: Settings,
    url: str,
    county: str,
    villages: int | None,
    seed: int,
    console: Console,
    *,
    with_scenario: bool = False,
) -> DemoSummary:
    """Generate the demo county and load it (and replay its storm), showing progress."""
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
            )
            read_back = loaded_counts(conn, demo.dataset["id"])
            conn.commit()
            bar.update(task, description="loaded into PostGIS")
            replayed = None
            timeline = None
            if with_scenario:
                folder = scenario_dir(settings, county, villages, seed)
                if not folder.is_dir() or not any(folder.glob("*.nc")):
                    write_scenario(settings, county, seed, folder, villages, demo)
                files = [p for p in folder.iterdir() if p.suffix != ".md"]
                forget(conn, [str(p) for p in files])  # a re-run replays the storm afresh
                task = bar.add_task("replaying the storm", total=len(files))
                replayed = replay(
                    conn,
                    folder,
                    data_dir=settings.data_dir,
                    on_summary=lambda s: bar.update(
                        task, advance=1, description=f"replaying {Path(s.source).name}"
                    ),
                )
                bar.update(task, description="replayed the storm scenario")
                timeline = storm_timeline(conn, settings, bar)
    return DemoSummary(
        county_code=demo.county.code,
        county_name=demo.county.name,
        dataset_id=demo.dataset["id"],
        rows=rows,
        read_back=read_back,
        seconds=time.perf_counter() - started,
        replayed=replayed,
        timeline=timeline if with_scenario else None,
    )


def storm_timeline(conn: psycopg.Connection, settings: Settings, bar: Progress) -> list[dict]:
    """Run the rules hour by hour through the storm, as the duty officers would have seen it."""
    removed = reset_for_demo(conn)
    if removed:
        bar.console.print(f"demo: cleared {removed} warning(s) of an earlier demo run")
    hours = [DEFAULT_START + timedelta(hours=h) for h in range(1, TIMELINE_HOURS + 1)]
    task = bar.add_task("running the rules through the storm", total=len(hours))
    rows = []
    for at in hours:
        result = run_cycle(conn, at, settings.rule_dirs)
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
            }
        )
        bar.update(task, advance=1)
    conn.commit()
    return rows
