"""The face of the city demo: every county of a city loaded with a progress bar per county.

Each county is generated and loaded as ``riskmap data demo --county`` would (its own dataset,
its own transaction), one after another so that memory holds one county at a time; the storm,
when asked for, is replayed over one county and confined to it, the others staying quiet.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from riskmap.api.cli.demo_load import (
    GENERATION_STEPS,
    TIMELINE_HOURS,
    DemoSummary,
    _generate,
    live_storm_start,
    replay_storm,
)
from riskmap.geo.demo.city import city_counties
from riskmap.geo.demo.county import DemoCounty
from riskmap.geo.demo.load import load, loaded_counts
from riskmap.geo.errors import InvalidArgumentError
from riskmap.geo.settings import Settings


@dataclass(frozen=True)
class CitySummary:
    city_code: str
    city_name: str
    counties: list[DemoSummary]
    seconds: float
    storm: DemoSummary | None = None  # the county the storm was replayed over

    def table(self) -> Table:
        """One row per county: what was loaded and how long it took."""
        t = Table(title=f"{self.city_name} ({self.city_code}) — {len(self.counties)} counties")
        for col in ("county", "name", "townships", "villages", "people", "s"):
            t.add_column(col, justify="left" if col in ("county", "name") else "right")
        for c in self.counties:
            t.add_row(
                c.county_code,
                c.county_name,
                str(c.read_back["townships"]),
                f"{c.read_back['villages']:,}",
                f"{c.read_back['population']:,}",
                f"{c.seconds:.1f}",
            )
        villages = sum(c.read_back["villages"] for c in self.counties)
        people = sum(c.read_back["population"] for c in self.counties)
        t.caption = (
            f"{villages:,} villages, {people:,} people (synthetic) in {self.seconds:.1f} s"
            + (f"; storm replayed over {self.storm.county_code}" if self.storm else "")
        )
        return t


def load_city(
    settings: Settings,
    url: str,
    city: str,
    villages: int | None,
    seed: int,
    console: Console,
    *,
    only: list[str] | None = None,
    with_scenario: bool = False,
    storm_county: str | None = None,
    storm_start: datetime | None = None,
) -> CitySummary:
    """Generate and load every county of ``city`` (or those of ``only``), a bar per county;
    ``with_scenario``: replay the storm over ``storm_county`` alone (default: the largest
    county) and run the rules through it, the other counties staying quiet.

    ``villages`` is per county (default: as reported, or by area).
    """
    started = time.perf_counter()
    outline, units = city_counties(city, settings.boundaries_path)
    if only is not None:
        unknown = sorted(set(only) - {u.code for u in units})
        if unknown:
            raise InvalidArgumentError(f"not counties of {outline.name}: {', '.join(unknown)}")
        units = [u for u in units if u.code in only]
    if with_scenario and storm_county is None:
        storm_county = max(units, key=lambda u: u.geometry.area).code
    if storm_county is not None and storm_county not in {u.code for u in units}:
        raise InvalidArgumentError(f"the storm county {storm_county} is not loaded with the city")
    summaries: list[DemoSummary] = []
    storm_demo: DemoCounty | None = None
    with (
        Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=console,
        ) as bar,
        psycopg.connect(url) as conn,
    ):
        overall = bar.add_task(f"{outline.name}: counties", total=len(units))
        for unit in units:
            demo, summary = _load_county(settings, conn, unit.code, unit.name, villages, seed, bar)
            summaries.append(summary)
            if with_scenario and unit.code == storm_county:
                storm_demo = demo
            bar.update(overall, advance=1)
        storm = None
        if storm_demo is not None:
            start = storm_start or live_storm_start()
            until = start + timedelta(hours=TIMELINE_HOURS) if storm_start is None else None
            replayed, timeline = replay_storm(
                conn, settings, storm_demo, villages, seed, bar, start, until, confine=True
            )
            base = next(s for s in summaries if s.county_code == storm_county)
            storm = dataclasses.replace(
                base, replayed=replayed, timeline=timeline, storm_start=start
            )
    return CitySummary(outline.code, outline.name, summaries, time.perf_counter() - started, storm)


def _load_county(
    settings: Settings,
    conn: psycopg.Connection,
    code: str,
    name: str,
    villages: int | None,
    seed: int,
    bar: Progress,
) -> tuple[DemoCounty, DemoSummary]:
    """One county: generated, loaded in its own transaction, read back; its own bar."""
    t0 = time.perf_counter()
    label = f"{code} {name}"
    task = bar.add_task(label, total=GENERATION_STEPS + 1)
    demo = _generate(
        settings,
        code,
        villages,
        seed,
        lambda step: bar.update(task, advance=1, description=f"{label}: {step}"),
    )
    bar.update(task, completed=GENERATION_STEPS, description=f"{label}: loading")
    rows = load(conn, demo, grid_cache_dir=settings.data_dir / "cache")
    read_back = loaded_counts(conn, demo.dataset["id"])
    conn.commit()
    bar.update(task, completed=GENERATION_STEPS + 1, description=f"{label}: loaded")
    return demo, DemoSummary(
        county_code=code,
        county_name=name,
        dataset_id=demo.dataset["id"],
        rows=rows,
        read_back=read_back,
        seconds=time.perf_counter() - t0,
    )
