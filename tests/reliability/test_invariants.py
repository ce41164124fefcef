"""Every invariant the code relies on is held by the database (issue 17, prove 5).

INVARIANTS is the list: what the code assumes, the table, what enforces it (a primary key,
UNIQUE, partial unique index, foreign key, CHECK, EXCLUDE, a trigger or NOT NULL) and a statement
that tries to break it on minimal valid rows (FIXTURE); each must be refused with the expected
SQLSTATE, by that very constraint (diag.constraint_name, or the trigger's function in the error
context). The catalogue test closes the loop: every primary key, UNIQUE, CHECK and EXCLUDE
constraint, unique index and raising trigger of the tables the list names appears in it, so
the list and the schema cannot drift apart. Coordinates within WGS 84 (migration 0042) are
tried on every table that carries such a check, found in the catalogue. ALLOWED shows the
rules are not broader than the lifecycle needs (a retried rejected file, back-to-back shifts,
a version published and its pointers moved at commit …).

Deferred rules (a warning's pointers) are checked at COMMIT; here ``SET CONSTRAINTS ALL
IMMEDIATE`` checks them at the end of each statement, inside a savepoint rolled back after it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from psycopg import errors

from tests.reliability.conftest import new_database

T0 = "'2026-07-14 00:00+00'::timestamptz"
SQUARE = "ST_GeomFromText('MULTIPOLYGON(((109.6 27.8,109.7 27.8,109.7 27.9,109.6 27.9,109.6 27.8)))', 4326)"  # noqa: E501
SMALL = "ST_GeomFromText('MULTIPOLYGON(((109.61 27.81,109.62 27.81,109.62 27.82,109.61 27.82,109.61 27.81)))', 4326)"  # noqa: E501
BOWTIE = "ST_GeomFromText('MULTIPOLYGON(((109.6 27.8,109.7 27.9,109.7 27.8,109.6 27.9,109.6 27.8)))', 4326)"  # noqa: E501
POINT = "ST_SetSRID(ST_Point(109.615, 27.815), 4326)"
LINE = "ST_GeomFromText('LINESTRING(109.61 27.81,109.62 27.82)', 4326)"
VILLAGE = "'431226101201'"
VERSION_COLUMNS = (
    "colour, village_codes, event_zh, event_en, headline_zh, headline_en, description_zh,"
    " description_en, instruction_zh, instruction_en, category, urgency, severity, certainty,"
    " response_type, effective, expires, evidence, created_by"
)
WARNING_COLUMNS = (
    "rule_id, rule_version, hazard, colour, review, first_fired_at, last_fired_at, valid_from,"
    " expires_at, hold_hours, village_codes, geom"
)


def warning_row(**extra: str) -> str:
    """Insert a warning like the lifecycle's (a candidate unless ``extra`` says otherwise)."""
    cols = ", ".join([WARNING_COLUMNS, *extra])
    values = ", ".join(
        [
            "'rule.flash_flood', '1', 'flash_flood', 'yellow', 'forecaster'",
            f"{T0}, {T0}, {T0}, {T0} + interval '6 hours', 6, ARRAY[{VILLAGE}], {SMALL}",
            *extra.values(),
        ]
    )
    return f"INSERT INTO warning ({cols}) VALUES ({values})"


def version_row(w: str, v: int, msg: str, response_type: str = "Prepare") -> str:
    """Insert draft version ``v`` of warning ``%(w)s`` with the texts of the fixture's."""
    return f"""INSERT INTO warning_version (warning_id, version, msg_type, {VERSION_COLUMNS})
        VALUES (%({w})s, {v}, '{msg}', 'yellow', ARRAY[{VILLAGE}], '山洪', 'Flash flood',
                '山洪黄色预警', 'Yellow flash flood warning', '', '', '', '', 'Geo', 'Expected',
                'Moderate', 'Likely', '{response_type}', {T0}, {T0} + interval '6 hours',
                '{{}}', 'rules')"""


def copy_version(
    w: str, v: int, msg: str, *, state: str = "draft", rt: str = "response_type"
) -> str:
    """Insert version ``v`` of warning ``w`` (an SQL expression) copying version 1 of ``%(w)s``;
    ``rt``: the response type expression."""
    cols = VERSION_COLUMNS.replace("response_type", rt)
    return f"""INSERT INTO warning_version (warning_id, version, msg_type, state, {VERSION_COLUMNS})
        SELECT {w}, {v}, '{msg}', '{state}', {cols} FROM warning_version
        WHERE warning_id = %(w)s AND version = 1"""


def publish(w: str, v: int, serial: int, references: str = "NULL") -> str:
    """Publish draft ``v`` of warning ``%(w)s`` as publish_version.sql does."""
    return f"""UPDATE warning_version SET state = 'published',
        cap_identifier = '43122600000000_20260714080000_{serial}', cap_sender = 'riskmap@431226',
        cap_sent = {T0}, published_at = {T0}, references_text = {references}
        WHERE warning_id = %({w})s AND version = {v}"""


def dup(table: str, where: str = "true", *, identity: bool = True) -> str:
    """Insert a copy of a row (same key)."""
    overriding = " OVERRIDING SYSTEM VALUE" if identity else ""
    return f"INSERT INTO {table}{overriding} SELECT * FROM {table} WHERE {where}"


def upd(table: str, sets: str, where: str) -> str:
    return f"UPDATE {table} SET {sets} WHERE {where}"


# Minimal valid rows: (key of the returned id or None, statement). An issued warning w (version
# 1 published, 2 a pending draft), a cancelled one w2 (Alert, then Cancel), a candidate w3; an
# outbox row and its delivery; an active response with proposals, tasks and timeline; a roster,
# a hand-over note, a field report, drills, users, tokens, an ingest, an event; and one row of
# each reference table whose coordinates are checked.
FIXTURE: list[tuple[str | None, str]] = [
    (None, "INSERT INTO dataset (id, title, synthetic, source) VALUES ('t', '测试', true, 't')"),
    (
        None,
        f"""INSERT INTO admin_unit (code, level, parent_code, name, gb2260, stat_code, dataset_id,
                                    geom) VALUES
            ('430000', 'province', NULL, '湖南省', '430000', '430000000000', 't', {SQUARE}),
            ('431200', 'city', '430000', '怀化市', '431200', '431200000000', 't', {SQUARE}),
            ('431226', 'county', '431200', '麻阳县', '431226', '431226000000', 't', {SQUARE}),
            ('431226101', 'township', '431226', '甲镇', '431226', '431226101000', 't', {SQUARE}),
            ({VILLAGE}, 'village', '431226101', '甲村', '431226', {VILLAGE}, 't', {SMALL})""",
    ),
    (
        None,
        "INSERT INTO person (id, name, phone, dataset_id) VALUES"
        " ('p1', '甲', '13800000001', 't'), ('p2', '乙', '13800000002', 't')",
    ),
    (
        "s1",
        "INSERT INTO duty_shift (org_code, post, person_id, shift, dataset_id) VALUES ('431226',"
        f" 'chief', 'p1', tstzrange({T0}, {T0} + interval '12 hours'), 't') RETURNING id",
    ),
    (
        "s2",
        "INSERT INTO duty_shift (org_code, post, person_id, shift, dataset_id) VALUES ('431226',"
        f" 'chief', 'p2', tstzrange({T0} + interval '12 hours', {T0} + interval '24 hours'), 't')"
        " RETURNING id",
    ),
    (
        None,
        "INSERT INTO app_user (name, role) VALUES ('alice', 'forecaster'), ('bob', 'commander')",
    ),
    (
        "tok",
        "INSERT INTO api_token (user_name, token_sha256)"
        " VALUES ('alice', decode(repeat('ab', 32), 'hex')) RETURNING id",
    ),
    (
        "log",
        "INSERT INTO ingest_log (kind, source, sha256, bytes, status)"
        " VALUES ('test', 'a.csv', repeat('a', 64), 10, 'loaded') RETURNING id",
    ),
    ("ev", "SELECT riskmap_event('test', '{}'::jsonb)"),
    # w: issued, version 1 published, version 2 a draft awaiting review
    ("w", warning_row() + " RETURNING id"),
    (None, version_row("w", 1, "Alert")),
    (None, publish("w", 1, 1)),
    (None, "UPDATE warning SET status = 'issued', published_version = 1 WHERE id = %(w)s"),
    (None, version_row("w", 2, "Update")),
    (None, "UPDATE warning SET current_version = 2 WHERE id = %(w)s"),
    (
        None,
        "INSERT INTO warning_audit (warning_id, version, action, actor, at)"
        f" VALUES (%(w)s, 1, 'issue', 'alice', {T0})",
    ),
    (
        None,
        "INSERT INTO warning_village (warning_id, village_code, last_fired_at, colour)"
        f" VALUES (%(w)s, {VILLAGE}, {T0}, 'yellow')",
    ),
    # w2: issued, then cancelled (version 2, a Cancel)
    ("w2", warning_row() + " RETURNING id"),
    (None, version_row("w2", 1, "Alert")),
    (None, publish("w2", 1, 2)),
    (None, "UPDATE warning SET status = 'issued', published_version = 1 WHERE id = %(w2)s"),
    (None, version_row("w2", 2, "Cancel", "AllClear")),
    (None, "UPDATE warning SET current_version = 2 WHERE id = %(w2)s"),
    (None, publish("w2", 2, 3, "'riskmap@431226,43122600000000_20260714080000_2,2026-07-14'")),
    (
        None,
        "UPDATE warning SET status = 'cancelled', published_version = 2,"
        f" ended_at = {T0} + interval '1 hour' WHERE id = %(w2)s",
    ),
    # w3: a candidate
    ("w3", warning_row() + " RETURNING id"),
    (None, version_row("w3", 1, "Alert")),
    # delivery
    (
        None,
        "INSERT INTO broadcast_terminal (id, name, village_code, protocol, endpoint, dataset_id,"
        f" geom) VALUES ('bt1', '甲村喇叭', {VILLAGE}, 'http-json', 'http://receiver.test/', 't',"
        f" {POINT})",
    ),
    (None, "INSERT INTO terminal_key (terminal_id, version, secret) VALUES ('bt1', 1, '\\x00')"),
    (
        "o",
        "INSERT INTO outbox (warning_id, version, channel, target, payload, idempotency_key)"
        " VALUES (%(w)s, 1, 'sms', '13800000001', '{}', 'warning:1:sms:13800000001') RETURNING id",
    ),
    (
        "a",
        "INSERT INTO delivery_attempt (outbox_id, attempt, at, channel, target, dispatcher,"
        f" outcome, latency_ms) VALUES (%(o)s, 1, {T0}, 'sms', '13800000001', 'host:1',"
        " 'delivered', 12.5) RETURNING id",
    ),
    (
        None,
        "INSERT INTO sms_receipt (provider_ref, outbox_id, part, parts)"
        " VALUES ('ref-1', %(o)s, 1, 1)",
    ),
    # responses
    (
        "r",
        "INSERT INTO response (plan_id, plan_version, plan_title_zh, plan_title_en, county_code,"
        " status, level, started_at, started_by, created_at) VALUES ('flood', '1', '防汛预案',"
        f" 'Flood plan', '431226', 'active', 3, {T0}, 'bob', {T0}) RETURNING id",
    ),
    (
        "p",
        "INSERT INTO response_proposal (response_id, kind, level, at, condition, variables)"
        f" VALUES (%(r)s, 'raise', 2, {T0}, 'rain_mm > 100', '{{}}') RETURNING id",
    ),
    (
        "p2",
        "INSERT INTO response_proposal (response_id, kind, level, at, condition, variables,"
        f" status, decided_by, decided_at) VALUES (%(r)s, 'start', 3, {T0}, 'rain_mm > 50',"
        f" '{{}}', 'accepted', 'bob', {T0}) RETURNING id",
    ),
    (
        "t",
        "INSERT INTO response_task (response_id, level, seq, who, office_code, text_zh, text_en,"
        " assigned_how, due_at, created_at) VALUES (%(r)s, 3, 0, 'county.chief', '431226',"
        f" '组织会商', 'Hold a briefing', 'on_duty', {T0} + interval '1 hour', {T0}) RETURNING id",
    ),
    (
        "t2",
        "INSERT INTO response_task (response_id, level, seq, who, office_code, text_zh, text_en,"
        " assigned_how, due_at, created_at, status, acked_at, acked_by, done_at, done_by)"
        " VALUES (%(r)s, 3, 1, 'township.leader', '431226101', '转移群众', 'Evacuate', 'on_duty',"
        f" {T0} + interval '1 hour', {T0}, 'done', {T0}, 'bob', {T0}, 'bob') RETURNING id",
    ),
    (
        "e",
        "INSERT INTO response_event (response_id, at, kind, actor)"
        f" VALUES (%(r)s, {T0}, 'started', 'bob') RETURNING id",
    ),
    # duty hand-over, field report, drills
    (
        "h",
        "INSERT INTO duty_handover (org_code, shift_change, from_name, to_name, text, author)"
        f" VALUES ('431226', {T0} + interval '12 hours', '甲', '乙', '雨情平稳', 'alice')"
        " RETURNING id",
    ),
    (
        "f",
        "INSERT INTO field_report (kind, village_code, observed_at, reported_at, reporter, text,"
        f" geom) VALUES ('flood', {VILLAGE}, {T0}, {T0}, 'alice', '路面积水', {POINT})"
        " RETURNING id",
    ),
    (
        None,
        "INSERT INTO field_report_photo (report_id, n, path, content_type, bytes, sha256, width,"
        " height) VALUES (%(f)s, 1, 'reports/1/1.jpg', 'image/jpeg', 100, repeat('0', 64), 640,"
        " 480)",
    ),
    (
        "d",
        "INSERT INTO drill (scenario, county_code, targets, scenario_start, scenario_end,"
        f" started_by, schema_name) VALUES ('storm', '431226', 'real', {T0},"
        f" {T0} + interval '1 day', 'bob', 'drill_999') RETURNING id",
    ),
    (
        "d2",
        "INSERT INTO drill (scenario, county_code, targets, scenario_start, scenario_end,"
        f" started_by, status, finished_at) VALUES ('storm', '431226', 'real', {T0},"
        f" {T0} + interval '1 day', 'bob', 'finished', now()) RETURNING id",
    ),
    # reference rows whose coordinates are checked
    (
        None,
        "INSERT INTO facility (id, kind, name, village_code, dataset_id, geom)"
        f" VALUES ('fa1', 'school', '甲村小学', {VILLAGE}, 't', {POINT})",
    ),
    (
        None,
        "INSERT INTO warehouse (id, name, level, admin_code, dataset_id, geom)"
        f" VALUES ('wh1', '县物资库', 'county', '431226', 't', {POINT})",
    ),
    (
        None,
        "INSERT INTO shelter (id, name, kind, admin_code, capacity, dataset_id, geom)"
        f" VALUES ('sh1', '甲镇中学', 'school', '431226101', 300, 't', {POINT})",
    ),
    (
        None,
        "INSERT INTO rescue_team (id, name, specialty, level, admin_code, dataset_id, geom)"
        f" VALUES ('rt1', '防汛队', 'flood_control', 'county', '431226', 't', {POINT})",
    ),
    (
        None,
        "INSERT INTO vehicle (id, plate, kind, dataset_id, geom)"
        f" VALUES ('ve1', '湘N12345', 'rescue', 't', {POINT})",
    ),
    (
        None,
        "INSERT INTO hazardous_site (id, name, kind, admin_code, dataset_id, geom)"
        f" VALUES ('hs1', '化工厂', 'chemical_plant', '431226', 't', {POINT})",
    ),
    (
        None,
        "INSERT INTO sensor (id, kind, unit, site_id, dataset_id, geom)"
        f" VALUES ('se1', 'gas', 'ppm', 'hs1', 't', {POINT})",
    ),
    (
        None,
        "INSERT INTO river (id, strahler, upstream_area_km2, length_km, dataset_id, geom)"
        f" VALUES (1, 2, 30.5, 1.5, 't', {LINE})",
    ),
    (None, f"INSERT INTO dike (id, name, dataset_id, geom) VALUES ('dk1', '甲堤', 't', {LINE})"),
]


@dataclass(frozen=True)
class Invariant:
    """What the code relies on, where, what holds it, and a statement that tries to break it."""

    name: str
    table: str
    by: str  # a constraint, unique index or trigger of ``table``, or "<column> NOT NULL"
    sql: str
    error: type[psycopg.Error]


U, C, F, X = (
    errors.UniqueViolation,
    errors.CheckViolation,
    errors.ForeignKeyViolation,
    errors.ExclusionViolation,
)
N, P = errors.NotNullViolation, errors.InsufficientPrivilege
W, W2, W3 = "id = %(w)s", "id = %(w2)s", "id = %(w3)s"
V1, V2 = "warning_id = %(w)s AND version = 1", "warning_id = %(w)s AND version = 2"
IDENT = "'43122600000000_20260714080000_8'"
PUBLISH_V2 = (
    f"state = 'published', cap_identifier = {IDENT}, cap_sender = 'riskmap@431226',"
    f" cap_sent = {T0}, published_at = now(), references_text = 'x'"
)
T, T2 = "id = %(t)s", "id = %(t2)s"
AUDIT = "INSERT INTO warning_audit (warning_id, version, action, actor, at) VALUES "
TASK = (
    "INSERT INTO response_task (response_id, level, seq, who, office_code, text_zh, text_en,"
    " assigned_how, due_at, created_at"
)
NOTE = "INSERT INTO duty_handover (org_code, shift_change, from_name, to_name, text, author"
SHIFT = "INSERT INTO duty_shift (org_code, post, person_id, shift, dataset_id) VALUES "
EARLY = f"tstzrange({T0}, {T0} + interval '6 hours')"
LATER = f"{T0} + interval '36 hours'"
RESPONSE = (
    "INSERT INTO response (plan_id, plan_version, plan_title_zh, plan_title_en, county_code,"
    " status, created_at) VALUES "
)
DRILL = (
    "INSERT INTO drill (scenario, county_code, targets, scenario_start, scenario_end, started_by"
)
DRILL_VALUES = f"'storm', '431226', 'real', {T0}, {T0} + interval '1 day', 'bob'"

INVARIANTS: list[Invariant] = [
    # --- a warning: one row, its state, its pointers into the version chain
    Invariant("warning ids unique", "warning", "warning_pkey",
              f"INSERT INTO warning (id, {WARNING_COLUMNS}) OVERRIDING SYSTEM VALUE"
              f" SELECT id, {WARNING_COLUMNS} FROM warning WHERE {W3}", U),
    Invariant("action from the two evacuation actions", "warning", "warning_action_check",
              upd("warning", "action = 'run'", W), C),
    Invariant("CAP status Actual, Exercise or Test", "warning", "warning_cap_status_check",
              upd("warning", "cap_status = 'Draft'", W), C),
    Invariant("published_version within 1 … current_version", "warning", "warning_check",
              upd("warning", "published_version = 5", W), C),
    Invariant("last firing not before the first", "warning", "warning_check1",
              upd("warning", "last_fired_at = first_fired_at - interval '1 hour'", W), C),
    Invariant("expires after valid_from", "warning", "warning_check2",
              upd("warning", "valid_from = expires_at", W), C),
    Invariant("ended_at set exactly when ended", "warning", "warning_check3",
              upd("warning", "ended_at = now()", W), C),
    Invariant("a candidate or rejected warning has no published version", "warning",
              "warning_check4", upd("warning", "published_version = 1", W3), C),
    Invariant("an issued or cancelled warning has a published version", "warning",
              "warning_check5", upd("warning", "published_version = NULL", W), C),
    Invariant("colour from blue, yellow, orange, red", "warning", "warning_colour_check",
              upd("warning", "colour = 'purple'", W), C),
    Invariant("current_version ≥ 1", "warning", "warning_current_version_check",
              upd("warning", "current_version = 0", W3), C),
    Invariant("area a valid, non-empty multipolygon", "warning", "warning_geom_check",
              upd("warning", f"geom = {BOWTIE}", W), C),
    Invariant("hazard named", "warning", "warning_hazard_check",
              upd("warning", "hazard = ''", W), C),
    Invariant("hold time in (0, 720] h", "warning", "warning_hold_hours_check",
              upd("warning", "hold_hours = 0", W), C),
    Invariant("issuer a city or county code", "warning", "warning_issuer_form",
              upd("warning", "issuer_code = '430000'", W), C),
    Invariant("review auto or forecaster", "warning", "warning_review_check",
              upd("warning", "review = 'nobody'", W), C),
    Invariant("rule named", "warning", "warning_rule_id_check",
              upd("warning", "rule_id = ''", W), C),
    Invariant("rule version named", "warning", "warning_rule_version_check",
              upd("warning", "rule_version = ''", W), C),
    Invariant("status from the five states", "warning", "warning_status_check",
              warning_row(status="'lost'", ended_at="now()"), C),
    Invariant("at least one village", "warning", "warning_village_codes_check",
              upd("warning", "village_codes = '{}'", W), C),
    Invariant("status only moves forward (issued ↛ candidate)", "warning",
              "warning_status_transition", upd("warning", "status = 'candidate'", W), C),
    Invariant("an ended warning stays ended", "warning", "warning_status_transition",
              upd("warning", "status = 'issued', ended_at = NULL", W2), C),
    Invariant("published_version is the latest published version", "warning",
              "warning_pointers", upd("warning", "published_version = 1", W2), F),
    Invariant("published_version names a published version", "warning", "warning_pointers",
              warning_row(status="'issued'", published_version="1"), F),
    Invariant("current_version is the pending draft", "warning", "warning_pointers",
              upd("warning", "current_version = 1", W), F),
    Invariant("current_version names a version of the warning", "warning", "warning_pointers",
              upd("warning", "current_version = 3", W2), F),
    # --- the version chain
    Invariant("(warning, version) unique", "warning_version", "warning_version_pkey",
              dup("warning_version", V2, identity=False), U),
    Invariant("versions numbered 1, 2, … without gaps", "warning_version",
              "warning_version_chain", copy_version("%(w)s", 4, "Update"), F),
    Invariant("nothing after a published Cancel", "warning_version", "warning_version_chain",
              copy_version("%(w2)s", 3, "Update"), C),
    Invariant("at most one draft per warning", "warning_version",
              "warning_version_one_draft_idx", copy_version("%(w)s", 3, "Update"), U),
    Invariant("version 1 is the Alert, later ones Update or Cancel", "warning_version",
              "warning_version_first_is_alert",
              upd("warning_version", "msg_type = 'Alert'", V2), C),
    Invariant("a version is published only with the warning's pointer", "warning_version",
              "warning_version_pointers", upd("warning_version", PUBLISH_V2, V2), F),
    Invariant("published versions never change", "warning_version", "warning_version_immutable",
              upd("warning_version", "headline_zh = 'x'", V1), P),
    Invariant("versions are never deleted", "warning_version", "warning_version_immutable",
              f"DELETE FROM warning_version WHERE {V2}", P),
    Invariant("a version belongs to a warning", "warning_version",
              "warning_version_warning_id_fkey", copy_version("-1", 1, "Alert"), F),
    Invariant("CAP identifiers unique", "warning_version", "warning_version_cap_identifier_key",
              upd("warning_version", "cap_identifier = '43122600000000_20260714080000_1'", V2), U),
    Invariant("CAP identifier in GB/T 35965.1 form", "warning_version",
              "warning_version_cap_identifier_check",
              upd("warning_version", "cap_identifier = '42'", V2), C),
    Invariant("CAP sender without space or comma", "warning_version",
              "warning_version_cap_sender_check",
              upd("warning_version", "cap_sender = 'a b'", V2), C),
    Invariant("published exactly when identifier, sender and sent are set", "warning_version",
              "warning_version_check1",
              upd("warning_version", "state = 'published', references_text = 'x'", V2), C),
    Invariant("a published Alert references nothing, an Update or Cancel its past",
              "warning_version", "warning_version_check2",
              upd("warning_version", PUBLISH_V2, "warning_id = %(w3)s AND version = 1"), C),
    Invariant("a Cancel is the all-clear", "warning_version", "warning_version_check3",
              upd("warning_version", "msg_type = 'Cancel'", V2), C),
    Invariant("a CAP message expires after it takes effect", "warning_version",
              "warning_version_check", upd("warning_version", "expires = effective", V2), C),
    Invariant("sent no later than effective", "warning_version",
              "warning_version_sent_by_effective",
              upd("warning_version", "cap_sent = effective + interval '1 hour'", V2), C),
    Invariant("action from the two evacuation actions", "warning_version",
              "warning_version_action_check", upd("warning_version", "action = 'run'", V2), C),
    Invariant("CAP category from the vocabulary", "warning_version",
              "warning_version_category_check",
              upd("warning_version", "category = 'Rain'", V2), C),
    Invariant("CAP certainty from the vocabulary", "warning_version",
              "warning_version_certainty_check",
              upd("warning_version", "certainty = 'Sure'", V2), C),
    Invariant("colour from the four", "warning_version", "warning_version_colour_check",
              upd("warning_version", "colour = 'green'", V2), C),
    Invariant("author named", "warning_version", "warning_version_created_by_check",
              upd("warning_version", "created_by = ''", V2), C),
    Invariant("event named", "warning_version", "warning_version_event_zh_check",
              upd("warning_version", "event_zh = ''", V2), C),
    Invariant("headline written", "warning_version", "warning_version_headline_zh_check",
              upd("warning_version", "headline_zh = ''", V2), C),
    Invariant("msgType Alert, Update or Cancel", "warning_version",
              "warning_version_msg_type_check", upd("warning_version", "msg_type = 'Ack'", V2), C),
    Invariant("CAP responseType from the vocabulary", "warning_version",
              "warning_version_response_type_check",
              upd("warning_version", "response_type = 'Run'", V2), C),
    Invariant("CAP severity from the vocabulary", "warning_version",
              "warning_version_severity_check", upd("warning_version", "severity = 'Huge'", V2), C),
    Invariant("state draft, published or discarded", "warning_version",
              "warning_version_state_check", upd("warning_version", "state = 'gone'", V2), C),
    Invariant("CAP urgency from the vocabulary", "warning_version",
              "warning_version_urgency_check", upd("warning_version", "urgency = 'Now'", V2), C),
    Invariant("version ≥ 1", "warning_version", "warning_version_version_check",
              upd("warning_version", "version = 0", V2), C),
    Invariant("at least one village", "warning_version", "warning_version_village_codes_check",
              upd("warning_version", "village_codes = '{}'", V2), C),
    # --- audit and villages of a warning
    Invariant("audit ids unique", "warning_audit", "warning_audit_pkey", dup("warning_audit"), U),
    Invariant("audit action from the lifecycle's", "warning_audit", "warning_audit_action_check",
              AUDIT + f"(%(w)s, 1, 'approve', 'alice', {T0})", C),
    Invariant("audit actor named", "warning_audit", "warning_audit_actor_check",
              AUDIT + f"(%(w)s, 1, 'issue', '', {T0})", C),
    Invariant("audit names a version of its warning", "warning_audit",
              "warning_audit_version_fkey", AUDIT + f"(%(w)s, 9, 'issue', 'alice', {T0})", F),
    Invariant("the audit log is append-only", "warning_audit", "warning_audit_no_change",
              "UPDATE warning_audit SET actor = 'mallory'", P),
    Invariant("the audit log is never emptied", "warning_audit", "warning_audit_no_truncate",
              "TRUNCATE warning_audit", P),
    Invariant("one firing row per warning and village", "warning_village",
              "warning_village_pkey", dup("warning_village", identity=False), U),
    Invariant("firing colour from the four", "warning_village", "warning_village_colour_check",
              upd("warning_village", "colour = 'black'", "true"), C),
    # --- the outbox and delivery
    Invariant("outbox ids unique", "outbox", "outbox_pkey", dup("outbox"), U),
    Invariant("idempotency keys unique", "outbox", "outbox_idempotency_key_key",
              "INSERT INTO outbox (warning_id, version, channel, target, payload, idempotency_key)"
              " VALUES (%(w)s, 1, 'sms', '13800000002', '{}', 'warning:1:sms:13800000001')", U),
    Invariant("a message belongs to a warning version or a task, not both", "outbox",
              "outbox_owner", upd("outbox", "response_task_id = %(t)s", "id = %(o)s"), C),
    Invariant("a message names an existing site alarm notice", "outbox",
              "outbox_ws_notice_id_fkey",
              upd("outbox", "warning_id = NULL, version = NULL, ws_notice_id = -1", "id = %(o)s"),
              F),
    Invariant("a message names an existing warning version", "outbox",
              "outbox_warning_id_version_fkey", upd("outbox", "version = 9", "id = %(o)s"), F),
    Invariant("attempts ≥ 0", "outbox", "outbox_attempts_check",
              upd("outbox", "attempts = -1", "id = %(o)s"), C),
    Invariant("channel from the four", "outbox", "outbox_channel_check",
              upd("outbox", "channel = 'fax'", "id = %(o)s"), C),
    Invariant("status from the delivery states", "outbox", "outbox_status_check",
              upd("outbox", "status = 'lost'", "id = %(o)s"), C),
    Invariant("a target", "outbox", "outbox_target_check",
              upd("outbox", "target = ''", "id = %(o)s"), C),
    Invariant("attempt ids unique", "delivery_attempt", "delivery_attempt_pkey",
              dup("delivery_attempt"), U),
    Invariant("attempts counted from 1", "delivery_attempt", "delivery_attempt_attempt_check",
              upd("delivery_attempt", "attempt = 0", "true"), C),
    Invariant("latency ≥ 0", "delivery_attempt", "delivery_attempt_latency_ms_check",
              upd("delivery_attempt", "latency_ms = -1", "true"), C),
    Invariant("outcome delivered, retry or dead", "delivery_attempt",
              "delivery_attempt_outcome_check",
              upd("delivery_attempt", "outcome = 'ok'", "true"), C),
    Invariant("one receipt per gateway message id", "sms_receipt", "sms_receipt_pkey",
              dup("sms_receipt", identity=False), U),
    Invariant("part within parts", "sms_receipt", "sms_receipt_check",
              upd("sms_receipt", "part = 2", "true"), C),
    Invariant("parts counted from 1", "sms_receipt", "sms_receipt_part_check",
              upd("sms_receipt", "part = 0", "true"), C),
    Invariant("one key per terminal and version", "terminal_key", "terminal_key_pkey",
              dup("terminal_key", identity=False), U),
    Invariant("key versions from 1", "terminal_key", "terminal_key_version_check",
              upd("terminal_key", "version = 0", "true"), C),
    # --- responses
    Invariant("response ids unique", "response", "response_pkey", dup("response"), U),
    Invariant("one open response per plan and county", "response", "response_open_idx",
              RESPONSE + f"('flood', '2', '防汛预案', 'Flood plan', '431226', 'proposed', {T0})",
              U),
    Invariant("an active or ended response has a level and a start", "response",
              "response_check", upd("response", "level = NULL", "id = %(r)s"), C),
    Invariant("ended_at set exactly when ended or dismissed", "response", "response_check1",
              upd("response", "ended_at = now()", "id = %(r)s"), C),
    Invariant("level Ⅰ–Ⅳ", "response", "response_level_check",
              upd("response", "level = 5", "id = %(r)s"), C),
    Invariant("plan named", "response", "response_plan_id_check",
              upd("response", "plan_id = ''", "id = %(r)s"), C),
    Invariant("plan version named", "response", "response_plan_version_check",
              upd("response", "plan_version = ''", "id = %(r)s"), C),
    Invariant("status from the four", "response", "response_status_check",
              RESPONSE + f"('quake', '1', '地震预案', 'Quake plan', '431226', 'paused', {T0})", C),
    Invariant("status only moves forward (active ↛ proposed)", "response",
              "response_status_transition",
              upd("response", "status = 'proposed'", "id = %(r)s"), C),
    Invariant("proposal ids unique", "response_proposal", "response_proposal_pkey",
              dup("response_proposal", "id = %(p)s"), U),
    Invariant("one pending proposal per response", "response_proposal",
              "response_proposal_pending_idx",
              "INSERT INTO response_proposal (response_id, kind, level, at, condition, variables)"
              f" VALUES (%(r)s, 'raise', 1, {T0}, 'x', '{{}}')", U),
    Invariant("decided exactly when not pending", "response_proposal", "response_proposal_check",
              upd("response_proposal", "decided_at = now()", "id = %(p)s"), C),
    Invariant("kind start or raise", "response_proposal", "response_proposal_kind_check",
              upd("response_proposal", "kind = 'lower'", "id = %(p)s"), C),
    Invariant("level Ⅰ–Ⅳ", "response_proposal", "response_proposal_level_check",
              upd("response_proposal", "level = 0", "id = %(p)s"), C),
    Invariant("status from the four", "response_proposal", "response_proposal_status_check",
              "INSERT INTO response_proposal (response_id, kind, level, at, condition, variables,"
              f" status, decided_at) VALUES (%(r)s, 'raise', 1, {T0}, 'x', '{{}}', 'lost', {T0})",
              C),
    Invariant("a decided proposal stays decided", "response_proposal",
              "response_proposal_status_transition",
              upd("response_proposal", "status = 'dismissed'", "id = %(p2)s"), C),
    Invariant("task ids unique", "response_task", "response_task_pkey",
              dup("response_task", T), U),
    Invariant("one task per response, level, place in the plan and office", "response_task",
              "response_task_response_id_level_seq_office_code_key",
              TASK + f") VALUES (%(r)s, 3, 0, 'county.chief', '431226', 'x', 'x', 'on_duty', {T0},"
              f" {T0})", U),
    Invariant("every task is for an office", "response_task", "office_code NOT NULL",
              TASK + f") VALUES (%(r)s, 3, 5, 'county.chief', NULL, 'x', 'x', 'on_duty', {T0},"
              f" {T0})", N),
    Invariant("assignment from the known ways", "response_task",
              "response_task_assigned_how_check",
              upd("response_task", "assigned_how = 'luck'", T), C),
    Invariant("done exactly when done_at is set", "response_task", "response_task_check",
              upd("response_task", "done_at = now(), done_by = 'bob'", T), C),
    Invariant("an open task is not acknowledged, an acknowledged or done one says when",
              "response_task", "response_task_ack_recorded",
              upd("response_task", "acked_at = now(), acked_by = 'bob'", T), C),
    Invariant("acknowledged by someone exactly when acknowledged", "response_task",
              "response_task_acked_by", upd("response_task", "acked_by = 'bob'", T), C),
    Invariant("done by someone exactly when done", "response_task", "response_task_done_by",
              upd("response_task", "done_by = 'bob'", T), C),
    Invariant("level Ⅰ–Ⅳ", "response_task", "response_task_level_check",
              upd("response_task", "level = 0", T), C),
    Invariant("note ≤ 2000 characters", "response_task", "response_task_note_check",
              upd("response_task", "note = repeat('x', 2001)", T), C),
    Invariant("status from the four", "response_task", "response_task_status_check",
              TASK + ", status, acked_at, acked_by) VALUES (%(r)s, 3, 7, 'county.chief', '431226',"
              f" 'x', 'x', 'on_duty', {T0}, {T0}, 'lost', {T0}, 'bob')", C),
    Invariant("task text written", "response_task", "response_task_text_zh_check",
              upd("response_task", "text_zh = ''", T), C),
    Invariant("a done task stays done", "response_task", "response_task_status_transition",
              upd("response_task", "status = 'open'", T2), C),
    Invariant("timeline ids unique", "response_event", "response_event_pkey",
              dup("response_event"), U),
    Invariant("timeline actor named", "response_event", "response_event_actor_check",
              "INSERT INTO response_event (response_id, at, kind, actor)"
              f" VALUES (%(r)s, {T0}, 'started', '')", C),
    Invariant("timeline kind from the list", "response_event", "response_event_kind_check",
              "INSERT INTO response_event (response_id, at, kind, actor)"
              f" VALUES (%(r)s, {T0}, 'paused', 'bob')", C),
    Invariant("timeline level from Ⅰ–Ⅳ", "response_event", "response_event_level_from_check",
              "INSERT INTO response_event (response_id, at, kind, actor, level_from)"
              f" VALUES (%(r)s, {T0}, 'lowered', 'bob', 0)", C),
    Invariant("timeline level to Ⅰ–Ⅳ", "response_event", "response_event_level_to_check",
              "INSERT INTO response_event (response_id, at, kind, actor, level_to)"
              f" VALUES (%(r)s, {T0}, 'raised', 'bob', 5)", C),
    Invariant("the timeline is append-only", "response_event", "response_event_guard",
              "DELETE FROM response_event", P),
    # --- the duty roster and hand-over notes
    Invariant("shift ids unique", "duty_shift", "duty_shift_pkey",
              dup("duty_shift", "id = %(s1)s"), U),
    Invariant("one leader and one chief at a time per office", "duty_shift",
              "duty_shift_org_code_post_shift_excl",
              SHIFT + f"('431226', 'chief', 'p2', {EARLY}, 't')", X),
    Invariant("one post at a time per person", "duty_shift", "duty_shift_person_id_shift_excl",
              SHIFT + f"('431226', 'officer', 'p1', {EARLY}, 't')", X),
    Invariant("duty-room phone a phone number", "duty_shift", "duty_shift_phone_check",
              upd("duty_shift", "phone = '110'", "id = %(s1)s"), C),
    Invariant("post leader, chief or officer", "duty_shift", "duty_shift_post_check",
              upd("duty_shift", "post = 'boss'", "id = %(s1)s"), C),
    Invariant("a shift is a bounded, non-empty time range", "duty_shift", "duty_shift_shift_check",
              upd("duty_shift", f"shift = tstzrange({T0}, NULL)", "id = %(s1)s"), C),
    Invariant("note ids unique", "duty_handover", "duty_handover_pkey", dup("duty_handover"), U),
    Invariant("a correction names an earlier note", "duty_handover", "duty_handover_check",
              NOTE + f", corrects) VALUES ('431226', {T0}, '甲', '乙', 'x', 'alice', %(h)s + 1000)",
              C),
    Invariant("a correction corrects a note of the same office", "duty_handover",
              "duty_handover_correction",
              NOTE + f", corrects) VALUES ('431226101', {T0}, '甲', '乙', 'x', 'alice', %(h)s)", C),
    Invariant("author named", "duty_handover", "duty_handover_author_check",
              NOTE + f") VALUES ('431226', {T0}, '甲', '乙', 'x', '')", C),
    Invariant("giver named", "duty_handover", "duty_handover_from_name_check",
              NOTE + f") VALUES ('431226', {T0}, '', '乙', 'x', 'alice')", C),
    Invariant("taker named", "duty_handover", "duty_handover_to_name_check",
              NOTE + f") VALUES ('431226', {T0}, '甲', '', 'x', 'alice')", C),
    Invariant("note text 1–4000 characters", "duty_handover", "duty_handover_text_check",
              NOTE + f") VALUES ('431226', {T0}, '甲', '乙', '', 'alice')", C),
    Invariant("office a county or township code", "duty_handover",
              "duty_handover_org_code_check",
              NOTE + f") VALUES ('4312', {T0}, '甲', '乙', 'x', 'alice')", C),
    Invariant("open items a list of at most 50", "duty_handover",
              "duty_handover_open_items_check",
              NOTE + f", open_items) VALUES ('431226', {T0}, '甲', '乙', 'x', 'alice', '{{}}')", C),
    Invariant("notes are append-only", "duty_handover", "duty_handover_no_change",
              "UPDATE duty_handover SET text = 'y'", P),
    Invariant("notes are never emptied", "duty_handover", "duty_handover_no_truncate",
              "TRUNCATE duty_handover", P),
    # --- ingest, live events, users and tokens
    Invariant("ingest ids unique", "ingest_log", "ingest_log_pkey", dup("ingest_log"), U),
    Invariant("a file's content is loaded once per kind", "ingest_log", "ingest_log_content_idx",
              "INSERT INTO ingest_log (kind, source, sha256, bytes, status)"
              " VALUES ('test', 'again.csv', repeat('a', 64), 10, 'loaded')", U),
    Invariant("bytes ≥ 0", "ingest_log", "ingest_log_bytes_check",
              upd("ingest_log", "bytes = -1", "true"), C),
    Invariant("valid_to not before valid_from", "ingest_log", "ingest_log_check",
              upd("ingest_log", f"valid_from = {T0}, valid_to = {T0} - interval '1 hour'", "true"),
              C),
    Invariant("row counts ≥ 0", "ingest_log", "ingest_log_rows_duplicate_check",
              upd("ingest_log", "rows_duplicate = -1", "true"), C),
    Invariant("row counts ≥ 0", "ingest_log", "ingest_log_rows_loaded_check",
              upd("ingest_log", "rows_loaded = -1", "true"), C),
    Invariant("row counts ≥ 0", "ingest_log", "ingest_log_rows_quarantined_check",
              upd("ingest_log", "rows_quarantined = -1", "true"), C),
    Invariant("status loaded, partial or rejected", "ingest_log", "ingest_log_status_check",
              upd("ingest_log", "status = 'done'", "true"), C),
    Invariant("event ids unique", "event_log", "event_log_pkey",
              "INSERT INTO event_log (id, kind) OVERRIDING SYSTEM VALUE"
              " SELECT id, kind FROM event_log WHERE id = %(ev)s", U),
    Invariant("event positions (SSE ids) unique", "event_log", "event_log_pos_idx",
              "INSERT INTO event_log (kind, pos) SELECT 'test', pos FROM event_log"
              " WHERE id = %(ev)s", U),
    Invariant("event kind a lower-case word", "event_log", "event_log_kind_check",
              "INSERT INTO event_log (kind) VALUES ('Bad kind')", C),
    Invariant("event payload an object", "event_log", "event_log_payload_check",
              "INSERT INTO event_log (kind, payload) VALUES ('test', '[]')", C),
    Invariant("events never change", "event_log", "event_log_no_update",
              "UPDATE event_log SET kind = 'other'", P),
    Invariant("user names unique", "app_user", "app_user_pkey",
              "INSERT INTO app_user (name, role) VALUES ('alice', 'viewer')", U),
    Invariant("user name a login word", "app_user", "app_user_name_check",
              "INSERT INTO app_user (name, role) VALUES ('a b', 'viewer')", C),
    Invariant("role from the six", "app_user", "app_user_role_check",
              upd("app_user", "role = 'root'", "name = 'alice'"), C),
    Invariant("area a city or county code", "app_user", "app_user_area_form",
              upd("app_user", "area_code = '430000'", "name = 'alice'"), C),
    Invariant("only argon2id password hashes", "app_user", "app_user_password_hash_check",
              upd("app_user", "password_hash = 'secret'", "name = 'alice'"), C),
    Invariant("token ids unique", "api_token", "api_token_pkey", dup("api_token"), U),
    Invariant("token hashes unique", "api_token", "api_token_token_sha256_key",
              "INSERT INTO api_token (user_name, token_sha256)"
              " VALUES ('bob', decode(repeat('ab', 32), 'hex'))", U),
    Invariant("token hash a SHA-256", "api_token", "api_token_token_sha256_check",
              upd("api_token", "token_sha256 = decode('ab', 'hex')", "true"), C),
    Invariant("a token belongs to a user", "api_token", "api_token_user_name_fkey",
              upd("api_token", "user_name = 'nobody'", "true"), F),
    # --- field reports
    Invariant("report ids unique", "field_report", "field_report_pkey", dup("field_report"), U),
    Invariant("received exactly when nobody checked it", "field_report", "field_report_check",
              upd("field_report", "verifier = 'alice', verified_at = now()", "true"), C),
    Invariant("verifier and time together", "field_report", "field_report_check1",
              upd("field_report", "verified_at = now()", "true"), C),
    Invariant("observed before reported (5 min slack)", "field_report", "field_report_check2",
              upd("field_report", "observed_at = reported_at + interval '1 hour'", "true"), C),
    Invariant("damage an object", "field_report", "field_report_damage_check",
              upd("field_report", "damage = '[]'", "true"), C),
    Invariant("dead ≥ 0", "field_report", "field_report_dead_check",
              upd("field_report", "dead = -1", "true"), C),
    Invariant("injured ≥ 0", "field_report", "field_report_injured_check",
              upd("field_report", "injured = -1", "true"), C),
    Invariant("missing ≥ 0", "field_report", "field_report_missing_check",
              upd("field_report", "missing = -1", "true"), C),
    Invariant("people affected ≥ 0", "field_report", "field_report_people_affected_check",
              upd("field_report", "people_affected = -1", "true"), C),
    Invariant("kind from the list", "field_report", "field_report_kind_check",
              upd("field_report", "kind = 'meteor'", "true"), C),
    Invariant("note ≤ 2000 characters", "field_report", "field_report_note_check",
              upd("field_report", "note = repeat('x', 2001)", "true"), C),
    Invariant("status received, verified or false", "field_report", "field_report_status_check",
              upd("field_report", "status = 'lost', verifier = 'alice', verified_at = now()",
                  "true"), C),
    Invariant("text 1–2000 characters", "field_report", "field_report_text_check",
              upd("field_report", "text = ''", "true"), C),
    Invariant("the point within WGS 84", "field_report", "field_report_geom_wgs84",
              upd("field_report", "geom = ST_SetSRID(ST_Point(209.6, 27.8), 4326)", "true"), C),
    Invariant("a report is by a user", "field_report", "field_report_reporter_fkey",
              upd("field_report", "reporter = 'nobody'", "true"), F),
    Invariant("photo numbers unique per report", "field_report_photo",
              "field_report_photo_pkey", dup("field_report_photo", identity=False), U),
    Invariant("photo bytes > 0", "field_report_photo", "field_report_photo_bytes_check",
              upd("field_report_photo", "bytes = 0", "true"), C),
    Invariant("photo a JPEG, PNG or WebP", "field_report_photo",
              "field_report_photo_content_type_check",
              upd("field_report_photo", "content_type = 'image/gif'", "true"), C),
    Invariant("photo height > 0", "field_report_photo", "field_report_photo_height_check",
              upd("field_report_photo", "height = 0", "true"), C),
    Invariant("photo width > 0", "field_report_photo", "field_report_photo_width_check",
              upd("field_report_photo", "width = 0", "true"), C),
    Invariant("at most 20 photos", "field_report_photo", "field_report_photo_n_check",
              upd("field_report_photo", "n = 21", "true"), C),
    Invariant("photo hash a SHA-256", "field_report_photo", "field_report_photo_sha256_check",
              upd("field_report_photo", "sha256 = repeat('X', 64)", "true"), C),
    # --- drills
    Invariant("drill ids unique", "drill", "drill_pkey", dup("drill", "id = %(d)s"), U),
    Invariant("one drill per schema", "drill", "drill_schema_name_key",
              DRILL + f", schema_name) VALUES ({DRILL_VALUES}, 'drill_999')", U),
    Invariant("schema named drill_<n>", "drill", "drill_schema_name_check",
              upd("drill", "schema_name = 'public'", "id = %(d)s"), C),
    Invariant("scenario ends after it starts", "drill", "drill_check",
              upd("drill", "scenario_end = scenario_start", "id = %(d)s"), C),
    Invariant("finished_at set exactly when not running", "drill", "drill_check1",
              upd("drill", "finished_at = now()", "id = %(d)s"), C),
    Invariant("reference targets need a receiver", "drill", "drill_check2",
              upd("drill", "targets = 'reference'", "id = %(d)s"), C),
    Invariant("a drill finishes after it starts", "drill", "drill_finished_after_start",
              upd("drill", "status = 'finished', finished_at = started_at - interval '1 s'",
                  "id = %(d)s"), C),
    Invariant("scenario named", "drill", "drill_scenario_check",
              upd("drill", "scenario = ''", "id = %(d)s"), C),
    Invariant("started by someone", "drill", "drill_started_by_check",
              upd("drill", "started_by = ''", "id = %(d)s"), C),
    Invariant("status running, finished or failed", "drill", "drill_status_check",
              DRILL + f", status, finished_at) VALUES ({DRILL_VALUES}, 'paused', now())", C),
    Invariant("targets reference or real", "drill", "drill_targets_check",
              upd("drill", "targets = 'nobody', receiver_url = 'http://x/'", "id = %(d)s"), C),
    Invariant("a finished drill does not run again", "drill", "drill_status_transition",
              upd("drill", "status = 'running', finished_at = NULL", "id = %(d2)s"), C),
]  # fmt: skip

# What the rules must let through: the lifecycle's own moves and the cases the indexes leave
# open on purpose. Each runs in a savepoint rolled back afterwards.
ALLOWED: list[tuple[str, list[str]]] = [
    (
        "a rejected file may be loaded again",
        [
            "INSERT INTO ingest_log (kind, source, sha256, bytes, status)"
            " VALUES ('test', 'again.csv', repeat('a', 64), 10, 'rejected')"
        ],
    ),
    (
        "back-to-back chief shifts",
        [SHIFT + f"('431226', 'chief', 'p1', tstzrange({T0} + interval '24 hours', {LATER}), 't')"],
    ),
    ("officers on duty together", [SHIFT + f"('431226', 'officer', 'p2', {EARLY}, 't')"]),
    (
        "an ended response frees its plan and county",
        [
            upd("response", "status = 'ended', ended_at = now()", "id = %(r)s"),
            RESPONSE + f"('flood', '2', '防汛预案', 'Flood plan', '431226', 'proposed', {T0})",
        ],
    ),
    (
        "the pending update is issued, then the warning is cancelled (checked at commit)",
        [
            "SET CONSTRAINTS ALL DEFERRED",
            upd("warning_version", PUBLISH_V2, V2),
            upd("warning", "published_version = 2, current_version = 2", W),
            copy_version("%(w)s", 3, "Cancel", rt="'AllClear'"),
            upd("warning", "current_version = 3", W),
            upd(
                "warning_version",
                PUBLISH_V2.replace(IDENT, "'43122600000000_20260714080000_7'"),
                "warning_id = %(w)s AND version = 3",
            ),
            upd(
                "warning",
                "status = 'cancelled', published_version = 3, ended_at = now()",
                W,
            ),
            "SET CONSTRAINTS ALL IMMEDIATE",
        ],
    ),
    (
        "the pending update is rejected: the published version stays in force",
        [
            upd("warning_version", "state = 'discarded'", V2),
            upd("warning", "current_version = 1", W),
        ],
    ),
    (
        "a candidate is rejected",
        [
            upd("warning_version", "state = 'discarded'", "warning_id = %(w3)s AND version = 1"),
            upd("warning", "status = 'rejected', ended_at = now()", W3),
        ],
    ),
    (
        "a task is acknowledged, then done",
        [
            upd("response_task", "status = 'acknowledged', acked_at = now(), acked_by = 'bob'", T),
            upd("response_task", "status = 'done', done_at = now(), done_by = 'bob'", T),
        ],
    ),
    (
        "a note corrects a note of its own office",
        [NOTE + f", corrects) VALUES ('431226', {T0}, '甲', '乙', 'x', 'alice', %(h)s)"],
    ),
    ("a drill finishes", [upd("drill", "status = 'finished', finished_at = now()", "id = %(d)s")]),
]

# The raising triggers and unique indexes of the named tables, and their constraints.
CATALOGUE = r"""
SELECT c.conrelid::regclass::text, c.conname FROM pg_constraint c
WHERE c.contype IN ('p', 'u', 'c', 'x') AND c.conrelid = ANY (%(tables)s::regclass[])
UNION
SELECT x.indrelid::regclass::text, x.indexrelid::regclass::text FROM pg_index x
WHERE x.indisunique AND x.indrelid = ANY (%(tables)s::regclass[])
  AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = x.indexrelid
                  AND c.contype IN ('p', 'u', 'x'))
UNION
SELECT t.tgrelid::regclass::text, t.tgname FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
WHERE NOT t.tgisinternal AND t.tgrelid = ANY (%(tables)s::regclass[])
  AND p.prosrc ~ 'RAISE\s+EXCEPTION'
"""
# The objects one name can be, with the function a trigger runs.
KIND = """
SELECT 'constraint', NULL FROM pg_constraint
WHERE conrelid = %(t)s::regclass AND conname = %(n)s AND contype <> 't'
UNION ALL
SELECT 'index', NULL FROM pg_index x WHERE indrelid = %(t)s::regclass
    AND indexrelid::regclass::text = %(n)s
    AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = x.indexrelid
                    AND c.contype IN ('p', 'u', 'x'))
UNION ALL
SELECT 'trigger', p.proname FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
WHERE t.tgrelid = %(t)s::regclass AND t.tgname = %(n)s
UNION ALL
SELECT 'not null', NULL FROM pg_attribute WHERE attrelid = %(t)s::regclass
    AND attname || ' NOT NULL' = %(n)s AND attnotnull
"""


@pytest.fixture(scope="module")
def world(pg_cluster) -> Iterator[tuple[psycopg.Connection, dict[str, int]]]:
    """A migrated database of its own with the fixture rows, in one open transaction whose
    deferred rules are checked at once (each test works in a savepoint rolled back after it)."""
    url = new_database(pg_cluster, prefix="t_invariants")
    with psycopg.connect(url) as conn:
        ids: dict[str, int] = {}
        for key, statement in FIXTURE:
            cursor = conn.execute(statement, ids)
            if key is not None:
                ids[key] = cursor.fetchone()[0]
        conn.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the fixture passes the deferred rules
        yield conn, ids
        conn.rollback()


def refused(conn: psycopg.Connection, statement: str, ids: dict[str, int]) -> psycopg.Error:
    """Run ``statement`` in a savepoint that is always rolled back; the error it raised."""
    with pytest.raises(psycopg.Error) as info, conn.transaction(force_rollback=True):
        conn.execute(statement, ids)
    return info.value


@pytest.mark.parametrize("inv", INVARIANTS, ids=[f"{i.table}:{i.by}" for i in INVARIANTS])
def test_the_database_refuses_to_break_it(world, inv: Invariant) -> None:
    conn, ids = world
    kinds = conn.execute(KIND, {"t": inv.table, "n": inv.by}).fetchall()
    assert len(kinds) == 1, f"{inv.by} is not one constraint, index, trigger or NOT NULL column"
    kind, function = kinds[0]
    err = refused(conn, inv.sql, ids)
    assert isinstance(err, inv.error), f"{inv.name}: {type(err).__name__}: {err}"
    if kind in ("constraint", "index"):
        assert err.diag.constraint_name == inv.by, f"{inv.name}: refused by another rule: {err}"
    elif kind == "not null":
        assert f"{err.diag.column_name} NOT NULL" == inv.by
    elif err.diag.constraint_name:  # the 0042 triggers name themselves
        assert err.diag.constraint_name == inv.by, f"{inv.name}: refused by another rule: {err}"
    else:  # older guards: the trigger's function raised it
        assert f"function {function}()" in (err.diag.context or ""), err.diag.context


def test_the_list_covers_every_constraint_of_the_tables_it_names(world) -> None:
    conn, _ = world
    tables = sorted({i.table for i in INVARIANTS})
    catalogue = set(conn.execute(CATALOGUE, {"tables": tables}).fetchall())
    listed = {(i.table, i.by) for i in INVARIANTS}
    missing = sorted(catalogue - listed)
    assert not missing, "constraints with no row in INVARIANTS: " + ", ".join(
        f"{t}.{n}" for t, n in missing
    )


def test_coordinates_stay_within_wgs84(world) -> None:
    """Each table the database holds to WGS 84 refuses a point moved a turn east of it."""
    conn, ids = world
    checks = conn.execute(
        "SELECT conrelid::regclass::text, conname FROM pg_constraint"
        r" WHERE contype = 'c' AND conname LIKE '%\_geom\_wgs84' ORDER BY 1"
    ).fetchall()
    assert {t for t, _ in checks} >= {
        "admin_unit", "broadcast_terminal", "dike", "facility", "field_report", "hazardous_site",
        "rescue_team", "river", "sensor", "shelter", "vehicle", "warehouse",
    }  # fmt: skip
    for table, name in checks:
        err = refused(conn, f"UPDATE {table} SET geom = ST_Translate(geom, 360, 0)", ids)
        assert isinstance(err, errors.CheckViolation), f"{table}: {err}"
        assert err.diag.constraint_name == name


@pytest.mark.parametrize("case", ALLOWED, ids=[name for name, _ in ALLOWED])
def test_what_the_lifecycle_does_is_allowed(world, case) -> None:
    conn, ids = world
    _, statements = case
    with conn.transaction(force_rollback=True):
        for statement in statements:
            conn.execute(statement, ids)
