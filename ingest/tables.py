"""Loading one table of a batch: COPY into a staging table, one INSERT … ON CONFLICT, and a
row-by-row retry that quarantines only the rows the database refuses, with its reason."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd
import psycopg
from psycopg import sql

from riskmap.geo.db.binary_copy import STAGING_TYPES, binary_payload
from riskmap.geo.db.copy import copy_frame
from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.errors import InvalidArgumentError
from riskmap.ingest.batch import RECORD, Problem, TableLoad

SQL = SqlFiles("riskmap.ingest.sql")

_columns_cache: dict[str, list[str]] = {}


def table_columns(conn: psycopg.Connection, table: str) -> list[str]:
    """Insertable columns of ``table`` (cached per process)."""
    if table not in _columns_cache:
        rows = conn.execute(SQL("table_columns.sql"), {"table": table}).fetchall()
        if not rows:
            raise InvalidArgumentError(f"no table {table!r} to load into")
        _columns_cache[table] = [r[0] for r in rows]
    return _columns_cache[table]


def _insert_statement(load: TableLoad, staging: str, columns: list[str]) -> sql.Composed:
    stmt = _plain_insert_statement(load, staging, columns)
    if load.key is None:
        return stmt
    key = sql.SQL(", ").join(sql.Identifier(c) for c in load.key)
    if load.on_conflict in ("ignore", "update_own"):  # update_own updates first (below)
        return stmt + sql.SQL(" ON CONFLICT ({}) DO NOTHING").format(key)
    rest = [c for c in columns if c not in load.key]
    updates = sql.SQL(", ").join(
        sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(c), sql.Identifier(c)) for c in rest
    )
    return stmt + sql.SQL(" ON CONFLICT ({}) DO UPDATE SET {}").format(key, updates)


def _update_own_statement(load: TableLoad, staging: str, columns: list[str]) -> sql.Composed:
    """Rows of the staging table replace the rows with their key that this ingest wrote."""
    assert load.key is not None and "ingest_id" in columns
    rest = [c for c in columns if c not in load.key]
    target, source = sql.Identifier(load.table), sql.Identifier(staging)
    return sql.SQL(
        "UPDATE {} AS t SET {} FROM {} AS s WHERE {} AND t.ingest_id = s.ingest_id"
    ).format(
        target,
        sql.SQL(", ").join(
            sql.SQL("{} = s.{}").format(sql.Identifier(c), sql.Identifier(c)) for c in rest
        ),
        source,
        sql.SQL(" AND ").join(
            sql.SQL("t.{} = s.{}").format(sql.Identifier(c), sql.Identifier(c)) for c in load.key
        ),
    )


def _stored_in_ranges_statement(load: TableLoad, staging: str) -> sql.Composed:
    """Whether the target holds any row whose key falls in the staging rows' key ranges: per
    value of the leading key columns, the last key column's min … max (one index probe each)."""
    assert load.key is not None
    *lead, last = (sql.Identifier(c) for c in load.key)
    groups = sql.SQL(", ").join(lead) if lead else sql.SQL("")
    match = sql.SQL("").join(sql.SQL("t.{} = r.{} AND ").format(c, c) for c in lead)
    return sql.SQL(
        "SELECT EXISTS (SELECT FROM (SELECT {}min({}) AS lo, max({}) AS hi FROM {}{}) AS r"
        " CROSS JOIN LATERAL (SELECT FROM {} AS t WHERE {}t.{} BETWEEN r.lo AND r.hi LIMIT 1)"
        " AS found)"
    ).format(
        groups + sql.SQL(", ") if lead else groups,
        last,
        last,
        sql.Identifier(staging),
        sql.SQL(" GROUP BY ") + groups if lead else sql.SQL(""),
        sql.Identifier(load.table),
        match,
        last,
    )


def _plain_insert_statement(load: TableLoad, staging: str, columns: list[str]) -> sql.Composed:
    cols = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    return sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {}").format(
        sql.Identifier(load.table), cols, cols, sql.Identifier(staging)
    )


def _insert_new(conn: psycopg.Connection, load: TableLoad, staging: str, columns: list[str]):
    """Rows inserted by a plain INSERT when no stored row has a key in the staging rows'
    ranges (then ON CONFLICT has nothing to skip or update and only costs its speculative
    insertion, a quarter of the statement: issue 19); None when the ON CONFLICT statement
    must run: some rows may be stored already, or another transaction stored one of the keys
    between the probe and the insert (unique violation, rolled back to a savepoint)."""
    if load.key is None or not load.binary:  # binary: min/max of text, times and numbers
        return None
    if conn.execute(_stored_in_ranges_statement(load, staging)).fetchone()[0]:
        return None
    try:
        with conn.transaction():
            return conn.execute(_plain_insert_statement(load, staging, columns)).rowcount
    except psycopg.errors.UniqueViolation:
        return None


def _write(conn: psycopg.Connection, load: TableLoad, staging: str, columns: list[str]) -> int:
    """Move the staging rows into the target; returns rows inserted (not those updated in
    place by ``update_own``, whose earlier row was already counted)."""
    if load.on_conflict == "update_own":
        conn.execute(_update_own_statement(load, staging, columns))
    inserted = _insert_new(conn, load, staging, columns)
    if inserted is not None:
        return inserted
    return conn.execute(_insert_statement(load, staging, columns)).rowcount


_staging_serial = iter(range(1, 1 << 62))


def _staging_table(conn: psycopg.Connection, table: str, columns: list[str]) -> str:
    """A temporary table with just ``columns`` of ``table`` (types only: constraints, identity
    and defaults stay with the target, which checks them on the final INSERT)."""
    name = f"_stage_{table}_{next(_staging_serial)}"
    conn.execute(
        sql.SQL("CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA").format(
            sql.Identifier(name),
            sql.SQL(", ").join(sql.Identifier(c) for c in columns),
            sql.Identifier(table),
        )
    )
    return name


def _binary_staging(
    conn: psycopg.Connection,
    table: str,
    columns: list[str],
    types: list[str],
    ingest_id: int | None,
) -> str:
    """A temporary table typed as the binary COPY wrote ``columns`` (plus ``ingest_id`` as the
    default of a last column, when given); the final INSERT casts them to the target's types
    (and the target checks its constraints)."""
    name = f"_stage_{table}_{next(_staging_serial)}"
    defs = [
        sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(STAGING_TYPES[t]))
        for c, t in zip(columns, types, strict=True)
    ]
    if ingest_id is not None:
        defs.append(sql.SQL("ingest_id bigint DEFAULT {}").format(sql.Literal(int(ingest_id))))
    conn.execute(
        sql.SQL("CREATE TEMP TABLE {} ({}) ON COMMIT DROP").format(
            sql.Identifier(name), sql.SQL(", ").join(defs)
        )
    )
    return name


@dataclass(frozen=True)
class Prepared:
    """A load's rows ready to stage: without the record labels, the file's duplicates removed
    (the last wins), and encoded for a binary COPY when the load asks and the frame allows.
    Made by :func:`prepare`, which needs no connection: a feed's worker thread makes it while
    the connection loads the chunk before (issue 19, station rows)."""

    frame: pd.DataFrame
    labels: list[str]
    dup_in_file: int
    payload: tuple[bytes, list[str]] | None


def prepare(load: TableLoad) -> Prepared:
    """The rows of ``load`` as :func:`load_table` stages them (see :class:`Prepared`)."""
    frame = load.frame
    labels = (
        frame[RECORD].astype(str).tolist()
        if RECORD in frame
        else [f"record {i + 1}" for i in range(len(frame))]
    )
    frame = frame.drop(columns=[RECORD], errors="ignore").reset_index(drop=True)
    dup_in_file = 0
    if load.key is not None:
        dupes = frame.duplicated(list(load.key), keep="last")
        dup_in_file = int(dupes.sum())
        keep = ~dupes.to_numpy()
        frame = frame[keep].reset_index(drop=True)
        labels = [lab for lab, k in zip(labels, keep, strict=True) if k]
    payload = binary_payload(frame) if load.binary and len(frame) else None
    return Prepared(frame, labels, dup_in_file, payload)


def _stage(
    conn: psycopg.Connection,
    load: TableLoad,
    rows: Prepared,
    columns: list[str],
    ingest_id: int | None,
) -> str:
    """COPY the rows into a new staging table: binary when prepared so, else CSV into a table
    shaped like the target. ``ingest_id``: the provenance the rows do not carry themselves."""
    if rows.payload is None:
        staging = _staging_table(conn, load.table, columns)
        copy_frame(conn, staging, _with_ingest_id(rows.frame, ingest_id))
        return staging
    data, types = rows.payload
    written = [str(c) for c in rows.frame.columns]
    staging = _binary_staging(conn, load.table, written, types, ingest_id)
    with (
        conn.cursor() as cur,
        cur.copy(
            sql.SQL("COPY {} ({}) FROM STDIN (FORMAT binary)").format(
                sql.Identifier(staging), sql.SQL(", ").join(sql.Identifier(c) for c in written)
            )
        ) as cp,
    ):
        cp.write(data)
    return staging


def _with_ingest_id(frame: pd.DataFrame, ingest_id: int | None) -> pd.DataFrame:
    return frame if ingest_id is None else frame.assign(ingest_id=ingest_id)


def load_table(
    conn: psycopg.Connection, load: TableLoad, ingest_id: int
) -> tuple[int, int, list[Problem]]:
    """Load one frame: COPY into a staging table, then one INSERT … ON CONFLICT.

    If the set insert breaks a constraint, rows are retried one by one (each in a savepoint) and
    the failures quarantined with the database's reason, so good rows are always kept.
    Returns (rows inserted or updated, duplicates skipped, problems). The rows are those of
    ``load.prepared`` when a feed prepared them ahead (:func:`prepare`).
    """
    if load.frame.empty:
        return 0, 0, []
    known = table_columns(conn, load.table)
    unknown = [c for c in load.frame.columns if c != RECORD and c not in known]
    if unknown:
        raise InvalidArgumentError(f"{load.table} has no column(s) {unknown}")
    rows = load.prepared if isinstance(load.prepared, Prepared) else prepare(load)
    own_id = ingest_id if "ingest_id" in known and "ingest_id" not in rows.frame else None
    columns = [str(c) for c in rows.frame.columns] + (["ingest_id"] if own_id is not None else [])
    staging = _stage(conn, load, rows, columns, own_id)
    try:
        with conn.transaction():
            inserted = _write(conn, load, staging, columns)
        return inserted, rows.dup_in_file + len(rows.frame) - inserted, []
    except psycopg.errors.IntegrityError:
        pass
    frame = _with_ingest_id(rows.frame, own_id)
    inserted, problems = _row_by_row(conn, load, frame, rows.labels, columns)
    return inserted, rows.dup_in_file + len(rows.frame) - inserted - len(problems), problems


def _row_by_row(
    conn: psycopg.Connection,
    load: TableLoad,
    frame: pd.DataFrame,
    labels: list[str],
    columns: list[str],
) -> tuple[int, list[Problem]]:
    inserted = 0
    problems: list[Problem] = []
    one = _staging_table(conn, load.table, columns)
    for i, label in enumerate(labels):
        conn.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(one)))
        copy_frame(conn, one, frame.iloc[[i]])
        try:
            with conn.transaction():
                inserted += _write(conn, load, one, columns)
        except psycopg.errors.IntegrityError as exc:
            diag = exc.diag
            problems.append(
                Problem(
                    label,
                    diag.column_name or diag.constraint_name,
                    (diag.message_primary or str(exc)).strip(),
                    json.dumps(_row_dict(frame, i), ensure_ascii=False, default=str)[:2000],
                )
            )
    return inserted, problems


def _row_dict(frame: pd.DataFrame, i: int) -> dict:
    row = frame.iloc[i].to_dict()
    return {k: (v.wkt if hasattr(v, "wkt") else v) for k, v in row.items()}
