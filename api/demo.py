"""The face of the demo: generate and load a county with progress bars, and summarise it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from geo.demo.county import generate
from geo.demo.load import load, loaded_counts
from geo.settings import Settings

GENERATION_STEPS = 6  # boundaries, villages, terrain, stations, hazards, resources


@dataclass(frozen=True)
class DemoSummary:
    county_code: str
    county_name: str
    dataset_id: str
    rows: dict[str, int]
    read_back: dict[str, int]
    seconds: float

    def table(self) -> Table:
        """A rich table of what was loaded, for the terminal."""
        t = Table(title=f"{self.county_name} ({self.county_code}) — {self.dataset_id}")
        t.add_column("table")
        t.add_column("rows", justify="right")
        for name, n in self.rows.items():
            t.add_row(name, f"{n:,}")
        t.caption = (
            f"{self.read_back['townships']} townships, {self.read_back['villages']} villages,"
            f" {self.read_back['population']:,} people (synthetic) in {self.seconds:.1f} s"
        )
        return t


def roster_start(now: datetime | None = None) -> datetime:
    """Duty rosters start three days ago at 08:00 Beijing time (00:00 UTC), so 'now' is covered."""
    now = now or datetime.now(UTC)
    return (now - timedelta(days=3)).replace(hour=0, minute=0, second=0, microsecond=0)


def load_demo(
    settings: Settings,
    url: str,
    county: str,
    villages: int | None,
    seed: int,
    console: Console,
) -> DemoSummary:
    """Generate the demo county and load it, showing progress; returns a summary."""
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
        demo = generate(
            county,
            villages=villages,
            seed=seed,
            bundled_path=settings.boundaries_path,
            out_dir=settings.data_dir / "generated" / county,
            roster_start=roster_start(),
            progress=lambda step: bar.update(
                gen, advance=1, description=f"generating {county}: {step}"
            ),
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
        bar.update(task, description="loaded into PostGIS")
    return DemoSummary(
        county_code=demo.county.code,
        county_name=demo.county.name,
        dataset_id=demo.dataset["id"],
        rows=rows,
        read_back=read_back,
        seconds=time.perf_counter() - started,
    )
