"""Replay a folder of feed files in arrival order (file names start with their UTC time)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg

from riskmap.ingest.pipeline import Summary, ingest_file


def replay(
    conn: psycopg.Connection,
    folder: Path,
    *,
    data_dir: Path,
    on_summary: Callable[[Summary], None] = lambda _s: None,
) -> list[Summary]:
    """Ingest every file of ``folder`` in name order, as if they arrived one after another."""
    files = sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() not in {".md", ".txt"}
    )
    out = []
    for path in files:
        summary = ingest_file(conn, path, data_dir=data_dir)
        on_summary(summary)
        out.append(summary)
    return out
