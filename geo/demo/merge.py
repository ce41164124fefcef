"""Reload a dataset by merging it into what is loaded, not by deleting and inserting it again.

Deleting a dataset cascades to everything that refers to its rows: village rain, gauge and
river observations, sensor readings, and it is refused outright by a field report's village.
A yearly boundary or code update keeps most keys, so the reload stages the new rows in
temporary tables and then, table by table (keys from the catalogue):

* rows whose key survives are updated only where a value differs, new keys are inserted;
* rows of the dataset whose key is gone are deleted — after the field reports of a gone
  village moved to the village now holding their point, and after every loaded row that goes
  with them was counted into ``dataset_reload_change`` (migration 0039) with the reason;
* tables keyed by a generated id (rosters; nothing refers to them) keep identical rows,
  lose the others and get the new ones.

An unchanged reload therefore writes almost nothing (seconds at 25,000 villages).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pandas as pd
import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from riskmap.geo.db.copy import copy_frame
from riskmap.geo.db.sqlfiles import SqlFiles

SQL = SqlFiles("riskmap.geo.demo.sql")

# Rebuilt by the load itself (map tiles) or by `riskmap risk build`: not worth a record.
_REBUILT = frozenset({"tile_admin_unit", "tile_cut", "village_risk"})
_WHY = {
    "dropped": "{parent} {key} left dataset {dataset} in this reload; its rows went with it",
    "unlinked": "{parent} {key} left dataset {dataset} in this reload; the reference was cleared",
}


@dataclass(frozen=True)
class Link:
    """A foreign key: ``child(child_cols) → parent(parent_cols)``."""

    child: str
    parent: str
    child_cols: tuple[str, ...]
    parent_cols: tuple[str, ...]
    on_delete: str
    required: bool  # NOT NULL columns: every row has this parent
    loaded: bool  # the child has an ingest_id (rows that were loaded by an ingest)


@dataclass
class Merge:
    """One reload in progress: the staged tables, their keys and what changed."""

    conn: psycopg.Connection
    dataset_id: str
    reload_id: int
    tables: list[str]
    keys: dict[str, tuple[str, ...]] = field(default_factory=dict)
    scoped_by_dataset: dict[str, bool] = field(default_factory=dict)
    columns: dict[str, list[str]] = field(default_factory=dict)
    links: list[Link] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    recorded: int = 0

    def record(self, change: str, table: str, key: str, rows: int, reason: str, **details) -> None:
        """One line of ``dataset_reload_change``."""
        self.recorded += 1
        self.conn.execute(
            SQL("reload_change.sql"),
            {
                "reload_id": self.reload_id,
                "n": self.recorded,
                "change": change,
                "table_name": table,
                "key": key,
                "rows": rows,
                "reason": reason,
                "details": Jsonb(details),
            },
        )


def stage(
    conn: psycopg.Connection,
    dataset_id: str,
    frames: dict[str, pd.DataFrame],
    progress: Callable[[str, int, int], None],
) -> Merge:
    """Copy every frame into a temporary twin (``_stage_<table>``) and read the tables' keys."""
    reload_id = SQL.one(conn, "reload_begin.sql", {"dataset_id": dataset_id}, shape="tuple")[0]
    merge = Merge(conn, dataset_id, reload_id, list(frames))
    for i, (table, frame) in enumerate(frames.items()):
        progress(table, i, len(frames))
        columns = [str(c) for c in frame.columns]
        conn.execute(_drop_stage(table))
        conn.execute(_create_stage(table, columns))
        copy_frame(conn, _stage(table), frame)
        conn.execute(_analyze(table))  # temp tables have no statistics: joins would go nested
        key, has_dataset = SQL.one(conn, "merge_keys.sql", {"table": table}, shape="tuple")
        merge.keys[table] = tuple(key) if set(key) <= set(columns) else ()
        merge.scoped_by_dataset[table] = has_dataset
        merge.columns[table] = columns
    merge.links = [
        Link(r[0], r[1], tuple(r[2]), tuple(r[3]), r[4], r[5], r[6])
        for r in SQL.rows(conn, "merge_links.sql", {"tables": merge.tables}, shape="tuple")
    ]
    return merge


def upsert(merge: Merge, table: str) -> None:
    """Insert the table's new keys and update rows whose values differ (others are not
    touched, so no trigger fires for them); keyless tables take their staged rows."""
    if merge.keys[table]:
        added, changed = merge.conn.execute(_upsert(merge, table)).fetchone()
    else:
        query = _insert_new(merge, table)
        added = merge.conn.execute(query, {"dataset_id": merge.dataset_id}).rowcount
        changed = 0
    merge.counts.setdefault(table, {}).update(added=added, changed=changed)


def collect_gone(merge: Merge) -> None:
    """Find the dataset's rows whose key is no longer staged (``_gone_<table>``)."""
    for table in merge.tables:
        if merge.keys[table]:
            merge.conn.execute(_drop_gone(table))
            merge.conn.execute(_collect_gone(merge, table), {"dataset_id": merge.dataset_id})


def remove_gone(merge: Merge) -> None:
    """Delete the rows :func:`collect_gone` found, children first, after recording the loaded
    rows that go (or lose their reference) with them; replaced tables lose all their rows."""
    for table in merge.tables:
        if merge.keys[table]:
            _record_losses(merge, table)
    for table in reversed(merge.tables):
        if merge.keys[table]:
            n = merge.conn.execute(_delete_gone(merge, table)).rowcount
        else:  # no key: rows that are not staged identically go, staged ones come (upsert)
            query = _delete_unstaged(merge, table)
            n = merge.conn.execute(query, {"dataset_id": merge.dataset_id}).rowcount
        merge.counts.setdefault(table, {})["removed"] = n


def finish(merge: Merge, rain: dict) -> None:
    """Write the reload's counts into its record."""
    merge.conn.execute(
        SQL("reload_finish.sql"),
        {"id": merge.reload_id, "tables": Jsonb(merge.counts), "rain": Jsonb(rain)},
    )


# -- records -------------------------------------------------------------------------------------


def _record_losses(merge: Merge, table: str) -> None:
    """Rows outside the reloaded tables that refer to gone rows of ``table``: counted per gone
    key, with the ingests that loaded them, into the reload's record."""
    for link in merge.links:
        if link.parent != table or link.child in merge.tables or link.child in _REBUILT:
            continue
        if link.on_delete not in ("c", "n"):
            continue  # refusing keys are dealt with before (field reports move)
        change = "dropped" if link.on_delete == "c" else "unlinked"
        rows = merge.conn.execute(_count_refs(merge, link)).fetchall()
        for key, n, ingest_ids in rows:
            reason = _WHY[change].format(parent=table, key=key, dataset=merge.dataset_id)
            details = {"ingest_ids": ingest_ids} if link.loaded else {}
            merge.record(change, link.child, key, n, reason, **details)


def record_rain_of_gone(merge: Merge, codes: Iterable[str]) -> None:
    """Grid-period rain of villages about to go (array slots, not rows: no foreign key)."""
    for code, n, ingest_ids in SQL.rows(
        merge.conn, "rain_of_gone.sql", {"codes": list(codes)}, shape="tuple"
    ):
        reason = _WHY["dropped"].format(parent="admin_unit", key=code, dataset=merge.dataset_id)
        merge.record("dropped", "village_rain", code, n, reason, ingest_ids=ingest_ids or [])


def gone_keys(merge: Merge, table: str) -> list[str]:
    """Keys (text) of the table's gone rows, collected by :func:`remove_gone`'s first step."""
    query = sql.SQL("SELECT k FROM {}").format(sql.Identifier(_gone(table)))
    return [r[0] for r in merge.conn.execute(query)]


# -- SQL builders (identifiers quoted; the dataset id is always a parameter) -----------------------


def _stage(table: str) -> str:
    return f"_stage_{table}"


def _gone(table: str) -> str:
    return f"_gone_{table}"


def _ids(names: Iterable[str], prefix: str | None = None) -> sql.Composable:
    return sql.SQL(", ").join(
        sql.Identifier(prefix, n) if prefix else sql.Identifier(n) for n in names
    )


def _row(names: Iterable[str], prefix: str) -> sql.Composable:
    return sql.SQL("ROW({})").format(_ids(names, prefix))


def _drop_stage(table: str) -> sql.Composed:
    return sql.SQL("DROP TABLE IF EXISTS pg_temp.{}").format(sql.Identifier(_stage(table)))


def _analyze(table: str) -> sql.Composed:
    return sql.SQL("ANALYZE pg_temp.{}").format(sql.Identifier(_stage(table)))


def _create_stage(table: str, columns: list[str]) -> sql.Composed:
    """An empty temporary table with the columns' types (no constraints: checked on merge)."""
    return sql.SQL("CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA").format(
        sql.Identifier(_stage(table)), _ids(columns), sql.Identifier(table)
    )


def _upsert(merge: Merge, table: str) -> sql.Composed:
    cols, key = merge.columns[table], merge.keys[table]
    rest = [c for c in cols if c not in key]
    t, s = sql.Identifier(table), sql.Identifier(_stage(table))
    on_conflict = (
        sql.SQL("DO UPDATE SET {} WHERE {} IS DISTINCT FROM {}").format(
            sql.SQL(", ").join(
                sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(c), sql.Identifier(c))
                for c in rest
            ),
            _row(rest, "t"),
            _row(rest, "excluded"),
        )
        if rest
        else sql.SQL("DO NOTHING")
    )
    return sql.SQL(
        "WITH up AS (INSERT INTO {t} AS t ({cols}) SELECT {cols} FROM {s} n"
        " WHERE NOT EXISTS (SELECT 1 FROM {t} o WHERE {okey} = {nkey} AND {oall} IS NOT DISTINCT"
        " FROM {nall}) ON CONFLICT ({key}) {on_conflict} RETURNING (t.xmax = 0) AS added)"
        " SELECT count(*) FILTER (WHERE added), count(*) FILTER (WHERE NOT added) FROM up"
    ).format(
        t=t,
        s=s,
        cols=_ids(cols),
        okey=_row(key, "o"),
        nkey=_row(key, "n"),
        oall=_row(cols, "o"),
        nall=_row(cols, "n"),
        key=_ids(key),
        on_conflict=on_conflict,
    )


def _as_text(merge: Merge, table: str, alias: str) -> sql.Composable:
    """A row's frame columns as one text value: rows without a key compared by hash join."""
    return sql.SQL("{}::text").format(_row(merge.columns[table], alias))


def _insert_new(merge: Merge, table: str) -> sql.Composed:
    """Staged rows of a keyless table that are not there already (identical rows stay)."""
    cols = _ids(merge.columns[table])
    return sql.SQL(
        "INSERT INTO {t} ({cols}) SELECT {cols} FROM {s} n WHERE {ntext} NOT IN"
        " (SELECT {ttext} FROM {t} t WHERE {scope} AND {ttext} IS NOT NULL)"
    ).format(
        t=sql.Identifier(table),
        s=sql.Identifier(_stage(table)),
        cols=cols,
        ntext=_as_text(merge, table, "n"),
        ttext=_as_text(merge, table, "t"),
        scope=_scope(merge, table, "t"),
    )


def _scope(merge: Merge, table: str, alias: str) -> sql.Composable:
    """Rows of ``table`` that belong to the dataset: by dataset_id, else through a foreign key
    to a staged parent (a child row of another dataset points at no staged row)."""
    if merge.scoped_by_dataset[table]:
        return sql.SQL("{} = {}").format(
            sql.Identifier(alias, "dataset_id"), sql.Placeholder("dataset_id")
        )
    links = [
        link
        for link in merge.links
        if link.child == table
        and link.parent in merge.tables
        and link.parent != table
        and set(link.parent_cols) <= set(merge.columns[link.parent])
    ]
    # one required cascading link is enough (every row has that parent; a row whose parent goes,
    # goes with it) and joins by hash
    cascading = [link for link in links if link.on_delete == "c" and link.required][:1]
    parents = [
        sql.SQL("EXISTS (SELECT 1 FROM {} p WHERE {} = {})").format(
            sql.Identifier(_stage(link.parent)),
            _row(link.parent_cols, "p"),
            _row(link.child_cols, alias),
        )
        for link in cascading or links
    ]
    if not parents:
        raise ValueError(f"{table}: no dataset_id and no foreign key to a reloaded table")
    return sql.SQL("({})").format(sql.SQL(" OR ").join(parents))


def _drop_gone(table: str) -> sql.Composed:
    return sql.SQL("DROP TABLE IF EXISTS pg_temp.{}").format(sql.Identifier(_gone(table)))


def _collect_gone(merge: Merge, table: str) -> sql.Composed:
    """``_gone_<table>``: the dataset's rows whose key is not staged (their key columns, and
    the key as text ``k`` for records)."""
    key = merge.keys[table]
    text_key = sql.SQL(" || '/' || ").join(
        sql.SQL("{}::text").format(sql.Identifier("t", c)) for c in key
    )
    return sql.SQL(
        "CREATE TEMP TABLE {g} ON COMMIT DROP AS SELECT {tkey}, {text_key} AS k FROM {t} t"
        " WHERE {scope} AND NOT EXISTS (SELECT 1 FROM {s} n WHERE {nkey} = {rkey})"
    ).format(
        g=sql.Identifier(_gone(table)),
        tkey=_ids(key, "t"),
        text_key=text_key,
        t=sql.Identifier(table),
        scope=_scope(merge, table, "t"),
        s=sql.Identifier(_stage(table)),
        nkey=_row(key, "n"),
        rkey=_row(key, "t"),
    )


def _count_refs(merge: Merge, link: Link) -> sql.Composed:
    """Per gone parent key: the referring rows and (for loaded rows) their ingests."""
    ingests = (
        sql.SQL("coalesce(array_agg(DISTINCT c.ingest_id) FILTER (WHERE c.ingest_id IS NOT NULL),"
                " '{}')")
        if link.loaded
        else sql.SQL("'{}'::bigint[]")
    )  # fmt: skip
    return sql.SQL(
        "SELECT g.k, count(*), {ingests} FROM {child} c JOIN {gone} g ON {gkey} = {ckey}"
        " GROUP BY g.k ORDER BY g.k"
    ).format(
        ingests=ingests,
        child=sql.Identifier(link.child),
        gone=sql.Identifier(_gone(link.parent)),
        gkey=_row(link.parent_cols, "g"),
        ckey=_row(link.child_cols, "c"),
    )


def _delete_gone(merge: Merge, table: str) -> sql.Composed:
    key = merge.keys[table]
    return sql.SQL("DELETE FROM {t} t USING {g} g WHERE {tkey} = {gkey}").format(
        t=sql.Identifier(table),
        g=sql.Identifier(_gone(table)),
        tkey=_row(key, "t"),
        gkey=_row(key, "g"),
    )


def _delete_unstaged(merge: Merge, table: str) -> sql.Composed:
    return sql.SQL(
        "DELETE FROM {t} t WHERE {scope} AND {ttext} NOT IN (SELECT {ntext} FROM {s} n)"
    ).format(
        t=sql.Identifier(table),
        scope=_scope(merge, table, "t"),
        ttext=_as_text(merge, table, "t"),
        ntext=_as_text(merge, table, "n"),
        s=sql.Identifier(_stage(table)),
    )


def dumps(counts: dict) -> str:
    """The counts as JSON (for logs and the CLI)."""
    return json.dumps(counts, ensure_ascii=False, sort_keys=True)
