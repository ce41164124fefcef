"""A drill's own schema: empty twins of the tables a storm day writes, in front of ``public``.

Why a schema and not a drill id on the real tables: replaying a scenario writes observations,
rain grids, upstream signals, warnings, their messages, responses and live events. Written to
the real tables they would fire the real rules, feed the real plans and reach every public list,
feed, tile and live page, each of which would need a filter (and the next view added would
leak until someone remembered it). In ``drill_<id>`` the unchanged code runs with
``search_path = drill_<id>, public``: every table it writes resolves to the drill's twin, every
table it only reads (villages, thresholds, stations, people on duty, terminal keys) falls
through to ``public``. The real side queries ``public`` and cannot see a drill at all.

A twin is ``LIKE`` its table (defaults, checks, generated columns, indexes) without foreign keys;
identity columns draw from the real sequences (ids unique across real and drill rows); triggers
are copied except those that announce outside the session (``pg_notify``); views over twinned
tables are re-created over the twins. The drill's ``warning`` twin forces CAP status Exercise and
carries the drill id; its ``warning_version`` twin gives every message a CAP identifier with the
drill mark (:data:`riskmap.geo.warnings.cap.DRILL_SPARE`), never a real message's identifier.
"""

from __future__ import annotations

import re

import psycopg
from psycopg import sql

from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.errors import InvalidArgumentError
from riskmap.geo.warnings.cap import DRILL_SPARE

SQL = SqlFiles("riskmap.geo.drills.sql")

# What a replayed day writes: the feeds' tables (ingest), then the rules and lifecycle, delivery,
# responses and the live-event log. A table missing here that the replay writes would be written
# in public: tests/api/test_drills.py compares every public table before and after a drill.
TWIN_TABLES: tuple[str, ...] = (
    # ingest and the feeds
    "ingest_log", "quarantine", "grid_definition", "grid_file", "village_set",
    "village_set_member", "village_rain_grid", "village_rain_row", "rain_obs", "river_obs",
    "reservoir_obs", "sensor_obs", "geohazard_risk_area", "hotspot", "earthquake", "fire_danger",
    "cap_alert", "cap_info", "cap_area", "cap_reference", "cap_feed_entry", "service_heartbeat",
    # warnings, their messages and delivery
    "warning", "warning_version", "warning_audit", "warning_village", "outbox",
    "delivery_attempt", "sms_receipt", "event_log",
    # responses (migration 0033)
    "response", "response_proposal", "response_task", "response_event",
)  # fmt: skip
# Copied with their rows: the drill may point them elsewhere (targets 'reference').
COPIED_TABLES: tuple[str, ...] = ("broadcast_terminal",)
# Functions that read warnings of CAP status Actual only; the drill's copies read its Exercise
# warnings (so the plans see what the drill warned and can start a drill response).
ACTUAL_ONLY_FUNCTIONS: tuple[str, ...] = ("warned_villages_at",)
_SCHEMA = re.compile(r"^drill_[0-9]+$")


def schema_name(drill_id: int) -> str:
    """``drill_<id>``, the only shape a drill schema has (checked by the ``drill`` table too)."""
    if drill_id < 1:
        raise InvalidArgumentError(f"drill id must be positive, got {drill_id}")
    return f"drill_{drill_id}"


def search_path(schema: str) -> str:
    """The search_path of a drill session: its twins first, then the real reference data."""
    if not _SCHEMA.match(schema):
        raise InvalidArgumentError(f"not a drill schema: {schema!r}")
    return f"{schema}, public"


def enter(conn: psycopg.Connection, schema: str, *, local: bool = False) -> None:
    """Point ``conn`` at the drill (``local``: for the current transaction only, as API
    requests on pooled connections must)."""
    conn.execute("SELECT set_config('search_path', %s, %s)", [search_path(schema), local])


def leave(conn: psycopg.Connection) -> None:
    """Back to the real tables."""
    conn.execute("SELECT set_config('search_path', 'public', false)")


def create_twin(conn: psycopg.Connection, drill_id: int) -> str:
    """Create ``drill_<id>`` with its twins (in the caller's transaction); returns its name."""
    schema = schema_name(drill_id)
    conn.execute("SELECT set_config('search_path', 'public', true)")  # unqualified definitions
    views = _dependent_views(conn, TWIN_TABLES)
    relations = [*TWIN_TABLES, *COPIED_TABLES, *(v for v, _ in views)]
    triggers = SQL.rows(conn, "twin_triggers.sql", {"relations": relations}, shape="tuple")
    functions = [_function(conn, name) for name in ACTUAL_ONLY_FUNCTIONS]
    identity = SQL.rows(
        conn, "identity_columns.sql", {"tables": [*TWIN_TABLES, *COPIED_TABLES]}, shape="tuple"
    )
    s = sql.Identifier(schema)
    conn.execute(sql.SQL("CREATE SCHEMA {}").format(s))
    for table in (*TWIN_TABLES, *COPIED_TABLES):
        conn.execute(
            sql.SQL(
                "CREATE TABLE {}.{} (LIKE public.{} INCLUDING DEFAULTS INCLUDING CONSTRAINTS"
                " INCLUDING GENERATED INCLUDING INDEXES INCLUDING STORAGE)"
            ).format(s, sql.Identifier(table), sql.Identifier(table))
        )
    for table, column, sequence in identity:
        conn.execute(
            sql.SQL("ALTER TABLE {}.{} ALTER COLUMN {} SET DEFAULT nextval({}::regclass)").format(
                s, sql.Identifier(table), sql.Identifier(column), sql.Literal(sequence)
            )
        )
    for table in COPIED_TABLES:
        conn.execute(
            sql.SQL("INSERT INTO {}.{} SELECT * FROM public.{}").format(
                s, sql.Identifier(table), sql.Identifier(table)
            )
        )
    enter(conn, schema, local=True)  # views and functions below bind to the twins
    for name, definition in views:
        head = sql.SQL("CREATE VIEW {}.{} AS ").format(s, sql.Identifier(name))
        conn.execute(head + sql.SQL(definition))
    for table, _name, definition in triggers:
        conn.execute(sql.SQL(_retarget(definition, table, schema)))
    for name, definition in zip(ACTUAL_ONLY_FUNCTIONS, functions, strict=True):
        if definition is not None:
            conn.execute(sql.SQL(_exercise_function(definition, name, schema)))
    _mark_exercise(conn, schema, drill_id)
    return schema


def drop_twin(conn: psycopg.Connection, schema: str) -> None:
    """Remove a drill's schema and everything in it (its register row stays)."""
    search_path(schema)  # validates the name
    conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def _dependent_views(conn: psycopg.Connection, tables: tuple[str, ...]) -> list[tuple[str, str]]:
    """Views over the twinned tables, and views over those, in creation order."""
    found: dict[str, str] = {}
    frontier = list(tables)
    while frontier:
        rows = SQL.rows(conn, "dependent_views.sql", {"relations": frontier}, shape="tuple")
        frontier = [name for name, _ in rows if name not in found]
        found.update({name: definition for name, definition in rows if name not in found})
    return list(found.items())


def _function(conn: psycopg.Connection, name: str) -> str | None:
    row = SQL.one(conn, "function_definition.sql", {"name": name}, shape="tuple")
    return None if row is None else row[0]


def _retarget(definition: str, table: str, schema: str) -> str:
    """A public trigger's definition, put on the drill's twin of ``table``."""
    pattern = re.compile(rf" ON (?:public\.)?{re.escape(table)} ")
    out, n = pattern.subn(f" ON {schema}.{table} ", definition, count=1)
    if n != 1:
        raise InvalidArgumentError(f"cannot re-target trigger on {table}: {definition[:120]}")
    return out


def _exercise_function(definition: str, name: str, schema: str) -> str:
    """The drill's copy of a function that counts Actual warnings: it counts Exercise ones."""
    out = definition.replace(f"public.{name}(", f"{schema}.{name}(", 1)
    out, n = re.subn(r"cap_status\s*=\s*'Actual'", "cap_status = 'Exercise'", out)
    if n == 0 or f"{schema}.{name}(" not in out:
        raise InvalidArgumentError(f"function {name} no longer reads cap_status = 'Actual'")
    return out


def _mark_exercise(conn: psycopg.Connection, schema: str, drill_id: int) -> None:
    """The drill id on every warning of the drill, CAP status Exercise, the drill mark in every
    CAP identifier and 演练 leading every message, whoever writes them (the connection is in
    the drill's schema)."""
    s = sql.Identifier(schema)
    conn.execute(
        sql.SQL(
            "ALTER TABLE {}.warning ADD COLUMN drill_id bigint NOT NULL DEFAULT {}"
            " REFERENCES public.drill (id),"
            " ALTER COLUMN cap_status SET DEFAULT 'Exercise',"
            " ADD CONSTRAINT warning_is_exercise CHECK (cap_status = 'Exercise')"
        ).format(s, sql.Literal(drill_id))
    )
    conn.execute(
        sql.SQL(
            "CREATE TRIGGER warning_exercise BEFORE INSERT OR UPDATE OF cap_status ON {}.warning"
            " FOR EACH ROW EXECUTE FUNCTION public.drill_warning_exercise()"
        ).format(s)
    )
    conn.execute(
        sql.SQL(
            "CREATE TRIGGER outbox_drill_mark BEFORE INSERT ON {}.outbox"
            " FOR EACH ROW EXECUTE FUNCTION public.drill_outbox_mark()"
        ).format(s)
    )
    conn.execute(SQL("cap_identifier_function.sql"))  # made in the drill's schema
    mark = sql.Literal(DRILL_SPARE)
    conn.execute(
        sql.SQL(
            "CREATE TRIGGER warning_version_drill_identifier"
            " BEFORE INSERT OR UPDATE OF cap_identifier ON {}.warning_version FOR EACH ROW"
            " WHEN (NEW.cap_identifier IS NOT NULL AND substr(NEW.cap_identifier, 13, 2) <> {})"
            " EXECUTE FUNCTION {}.drill_cap_identifier({})"
        ).format(s, mark, s, mark)
    )
