"""The benchmark table at the end of ``python -m bench``: printed for a terminal (rich) and written
as JSON with the machine described, so two runs (or two machines) can be compared later.

The JSON's shape is bench/results.schema.json (tests/test_bench_report.py validates against it).
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bench.results import Row

ROOT = Path(__file__).resolve().parents[1]
LATEST = ROOT / "bench" / "results" / "latest.json"
SCHEMA = Path(__file__).with_name("results.schema.json")
VERSION = 1


def _first(path: str, key: str) -> str | None:
    """The value of the first ``key: value`` line of a /proc file."""
    try:
        for line in Path(path).read_text().splitlines():
            name, _, value = line.partition(":")
            if name.strip() == key:
                return value.strip()
    except OSError:
        pass
    return None


def _os_name() -> str:
    try:
        return platform.freedesktop_os_release().get("PRETTY_NAME", platform.system())
    except OSError:
        return platform.system()


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def database_versions(url: str | None) -> dict[str, str | None]:
    """PostgreSQL's and PostGIS's versions on the bench cluster (None when it is not up)."""
    found: dict[str, str | None] = {"postgresql": None, "postgis": None}
    if not url:
        return found
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=10) as conn:
            found["postgresql"] = conn.execute("SHOW server_version").fetchone()[0]
            found["postgis"] = conn.execute("SELECT postgis_full_version()").fetchone()[0]
    except psycopg.Error as exc:
        found["postgis"] = found["postgis"] or f"unknown ({type(exc).__name__})"
    return found


def machine(url: str | None = None) -> dict:
    """The machine and software the figures were measured on."""
    mem_kb = _first("/proc/meminfo", "MemTotal")
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "cpu": _first("/proc/cpuinfo", "model name") or platform.processor() or "unknown",
        "cores": os.cpu_count(),
        "ram_gb": round(int(mem_kb.split()[0]) / 1024**2, 1) if mem_kb else None,
        "os": _os_name(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        **database_versions(url),
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": bool(dirty) if dirty is not None else None,
    }


def load_average() -> list[float]:
    """1-, 5- and 15-minute load averages now (other work on the machine lowers figures)."""
    return [round(x, 2) for x in os.getloadavg()]


def document(
    rows: list[Row],
    *,
    machine: dict,
    benches: dict[str, dict],
    quick: bool,
    started: datetime,
    load_start: list[float],
    load_end: list[float],
    setup_seconds: float | None = None,
) -> dict:
    """The JSON document of one run: ``benches`` maps a bench's name to its wall time and
    whether it finished (``{"seconds": 12.3, "ok": true}``); ``setup_seconds``: what came
    before the first bench (cluster, migration, shared set-up)."""
    doc = {
        "version": VERSION,
        "date": started.astimezone(UTC).isoformat(timespec="seconds"),
        "quick": quick,
        "command": " ".join([Path(sys.executable).name, "-m", "bench", *sys.argv[1:]]),
        "machine": machine,
        "load_average": {"start": load_start, "end": load_end},
        "benches": benches,
        "rows": [_finite(asdict(r)) for r in rows],
    }
    if setup_seconds is not None:
        doc["setup_seconds"] = round(setup_seconds, 1)
    return doc


def _finite(value):
    """NaN and infinities as null: JSON has no such numbers."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def write(doc: dict, path: Path = LATEST) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def verdict(row: Row) -> str:
    """The pass/fail column: "pass", "FAIL", or "—" when the row has no target checked."""
    if row.passed is None:
        return "—"
    return "pass" if row.passed else "FAIL"


def number(value: float | None) -> str:
    """A figure for the table: three significant digits, thousands separated."""
    if value is None or not math.isfinite(value):
        return "—"
    if value == 0:
        return "0"
    size = abs(value)
    if size >= 100:
        return f"{value:,.0f}"
    if size >= 10:
        return f"{value:.1f}"
    if size >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def _ratio(value: float | None) -> str:
    """riskmap ÷ peer; below 0.1 as a fraction (1/2,551×: the peer takes 2,551 times as long)."""
    if value is None or not math.isfinite(value):
        return "—"
    if 0 < value < 0.1:
        return f"1/{number(1 / value)}×"
    return f"{number(value)}×"


def table(rows: list[Row], title: str = "riskmap benchmarks") -> Table:
    """The rows as one rich table: measure, riskmap, named peer (value), ratio, target, pass."""
    t = Table(title=title, show_lines=False, header_style="bold", expand=False)
    t.add_column("bench", style="cyan", no_wrap=True)
    t.add_column("measure", overflow="fold", max_width=60)
    t.add_column("riskmap", justify="right", no_wrap=True)
    t.add_column("named peer (value)", overflow="fold", max_width=34)
    t.add_column("ratio", justify="right", no_wrap=True)
    t.add_column("target", overflow="fold", max_width=22)
    t.add_column("pass", no_wrap=True)
    last = None
    for r in rows:
        ours = f"{number(r.riskmap)} {r.unit}".strip() if r.riskmap is not None else "—"
        peer = "—"
        if r.peer:
            peer = f"{r.peer} ({number(r.peer_value)})" if r.peer_value is not None else r.peer
        ratio = _ratio(r.ratio)
        mark = verdict(r)
        style = {"pass": "green", "FAIL": "bold red"}.get(mark, "dim")
        measure = escape(r.measure) + (f" [dim]({escape(r.note)})[/dim]" if r.note else "")
        t.add_row(
            r.bench if r.bench != last else "",
            measure,
            escape(ours),
            escape(peer),
            ratio,
            escape(r.target or "—"),
            f"[{style}]{mark}[/{style}]",
            end_section=False,
        )
        last = r.bench
    return t


def show(
    rows: list[Row], console: Console | None = None, title: str = "riskmap benchmarks"
) -> None:
    """Print the table: as wide as the terminal, or 180 columns into a file or pipe."""
    console = console or Console(width=None if sys.stdout.isatty() else 180)
    console.print(table(rows, title))
