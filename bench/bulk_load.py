"""Loading a province-sized demo: COPY (riskmap's path) against psycopg's executemany INSERT,
and reloading it (``riskmap data demo`` again) against a plain TRUNCATE + COPY.

The load's peer is what a straightforward loader would do: one parameterised INSERT per row
through ``cursor.executemany`` (psycopg 3 pipelines it). Both write the same frames into the
same tables in one transaction each, which is rolled back so the next run starts equal.

The reload merges into what is loaded (geo/demo/merge.py: history that refers to the rows
stays); its peer empties every demo table with TRUNCATE … CASCADE and COPYs the frames again —
the fastest way to replace the data, which keeps nothing. Measured in the same run, the peer
rolled back; finally the dataset is deleted (its cascade over every foreign key, issue 17).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from tempfile import mkdtemp

import psycopg
from psycopg import sql

from bench.results import Row, record
from riskmap.geo.db.copy import column_values, copy_frame
from riskmap.geo.demo.county import BOUNDARY_DATASET, DemoCounty, generate
from riskmap.geo.demo.load import load

BUNDLED = Path(__file__).resolve().parents[1] / "data" / "boundaries" / "hunan_demo.geojson"
TABLES = ("admin_unit", "person", "warehouse", "stock", "broadcast_terminal")


def _insert_many(conn: psycopg.Connection, table: str, frame) -> int:
    cols = [str(c) for c in frame.columns]
    stmt = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
        sql.Identifier(table),
        sql.SQL(", ").join(sql.Identifier(c) for c in cols),
        sql.SQL(", ").join(sql.Placeholder() * len(cols)),
    )
    data = [column_values(frame[c], 4326) for c in cols]
    with conn.cursor() as cur:
        cur.executemany(stmt, list(zip(*data, strict=True)))
    return len(frame)


def _timed_load(url: str, demo, writer) -> tuple[int, float]:
    with psycopg.connect(url) as conn:
        for dataset_id in (demo.dataset["id"], BOUNDARY_DATASET):
            conn.execute(
                "INSERT INTO dataset (id, title, synthetic, source)"
                " VALUES (%s, 'bench', true, 'bench') ON CONFLICT DO NOTHING",
                (dataset_id,),
            )
        for outline in demo.outlines:  # parents of the synthetic townships
            conn.execute(
                "INSERT INTO admin_unit (code, level, parent_code, name, gb2260, stat_code,"
                " dataset_id, geom) VALUES (%s, %s, %s, %s, %s, rpad(%s, 12, '0'), %s,"
                " ST_Multi(ST_GeomFromWKB(%s, 4326))) ON CONFLICT DO NOTHING",
                (
                    outline.code,
                    outline.level,
                    outline.parent_code,
                    outline.name,
                    outline.code,
                    outline.code,
                    BOUNDARY_DATASET,
                    outline.geometry.wkb,
                ),
            )
        conn.commit()
        rows = 0
        started = time.perf_counter()
        for table in TABLES:
            rows += writer(conn, table, demo.tables[table])
        elapsed = time.perf_counter() - started
        conn.rollback()
    return rows, elapsed


def run(url: str, *, villages: int) -> Iterator[str]:
    """Yield report lines: generation time, then COPY vs executemany rows/s and their ratio."""
    started = time.perf_counter()
    demo = generate(
        "431226",
        villages=villages,
        seed=1,
        bundled_path=BUNDLED,
        out_dir=Path(mkdtemp(prefix="riskmap-bench-dem-")),
        roster_start=datetime(2026, 7, 1, tzinfo=UTC),
    )
    generated_s = time.perf_counter() - started
    yield f"demo generation, {villages:,} villages: {generated_s:.1f} s"
    copy_rows, copy_s = _timed_load(url, demo, copy_frame)
    insert_rows, insert_s = _timed_load(url, demo, _insert_many)
    assert copy_rows == insert_rows
    record(
        Row(
            "bulk",
            f"bulk load, {villages:,}-village demo ({copy_rows:,} rows), COPY",
            copy_rows / copy_s,
            "rows/s",
            "psycopg executemany INSERT",
            insert_rows / insert_s,
            extra={"rows": copy_rows, "villages": villages, "generation_s": generated_s},
        )
    )
    yield (
        f"bulk load {copy_rows:,} rows ({', '.join(TABLES)}): COPY {copy_rows / copy_s:,.0f} rows/s"
        f" vs executemany INSERT {insert_rows / insert_s:,.0f} rows/s"
        f" -> {insert_s / copy_s:.1f}x faster"
    )
    yield from _reload(url, demo)


def _truncate_and_copy(conn: psycopg.Connection, demo: DemoCounty) -> None:
    tables = sql.SQL(", ").join(sql.Identifier(t) for t in demo.tables)
    conn.execute(sql.SQL("TRUNCATE {} CASCADE").format(tables))
    for outline in demo.outlines:  # admin_unit went too
        conn.execute(
            "INSERT INTO admin_unit (code, level, parent_code, name, gb2260, stat_code,"
            " dataset_id, geom) VALUES (%s, %s, %s, %s, %s, rpad(%s, 12, '0'), %s,"
            " ST_Multi(ST_GeomFromWKB(%s, 4326)))",
            (outline.code, outline.level, outline.parent_code, outline.name, outline.code,
             outline.code, BOUNDARY_DATASET, outline.geometry.wkb),
        )  # fmt: skip
    for table, frame in demo.tables.items():
        copy_frame(conn, table, frame)


def _reload(url: str, demo: DemoCounty) -> Iterator[str]:
    """The demo loaded, then loaded again (timed) against TRUNCATE + COPY (timed, rolled back)."""
    rows = sum(len(f) for f in demo.tables.values())
    with psycopg.connect(url) as conn:
        started = time.perf_counter()
        load(conn, demo)
        first_s = time.perf_counter() - started
        started = time.perf_counter()
        load(conn, demo)
        reload_s = time.perf_counter() - started
        started = time.perf_counter()
        _truncate_and_copy(conn, demo)
        peer_s = time.perf_counter() - started
        conn.rollback()
        started = time.perf_counter()
        conn.execute("DELETE FROM dataset WHERE id = %s", (demo.dataset["id"],))
        conn.commit()
        delete_s = time.perf_counter() - started
    record(
        Row(
            "bulk",
            f"reload ({rows:,} rows): merge keeping what refers to them",
            reload_s,
            "s",
            "TRUNCATE … CASCADE + COPY",
            peer_s,
            extra={"first_load_s": first_s},
        )
    )
    record(Row("bulk", "delete of the dataset (cascade over foreign keys)", delete_s, "s"))
    yield (
        f"reload {rows:,} rows ({len(demo.tables)} tables, first load {first_s:.1f} s):"
        f" merge {reload_s:.1f} s vs TRUNCATE + COPY {peer_s:.1f} s"
        f" -> {reload_s / peer_s:.1f}x the peer's time, keeping what refers to the rows"
    )
    yield f"delete of the dataset (cascades over indexed foreign keys): {delete_s:.1f} s"
