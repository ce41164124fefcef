"""Hand-over notes between duty shifts (交接班记录): written once, never changed.

The outgoing chief (值班长) tells the incoming one what happened and what stays open. Who hands
over to whom comes from the roster at that shift change, so a note cannot name someone who was
not on duty; a mistake is fixed by a new note that ``corrects`` the old one (the table refuses
UPDATE and DELETE, migration 0034), keeping what was said and when for any later inquiry.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

import psycopg
from psycopg.types.json import Jsonb
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.errors import InvalidArgumentError

SQL = SqlFiles("riskmap.geo.duty.sql")
#: how far from "now" a note without an explicit shift change may find one
SHIFT_SLACK = timedelta(hours=6)
OfficeCode = Annotated[str, StringConstraints(pattern=r"^[1-9]\d{5}(\d{3})?$")]
Item = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class HandoverError(InvalidArgumentError):
    """A note the roster or the notes so far do not allow; ``field`` names the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class HandoverInput(BaseModel):
    """A hand-over note as posted: the office, the shift change, the text and open items."""

    model_config = ConfigDict(extra="forbid")

    org_code: OfficeCode = Field(description="duty office: a county (6) or township (9) code")
    shift_change: AwareDatetime | None = Field(
        None, description="the shift change (a roster shift start); default: the nearest one"
    )
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
    open_items: list[Item] = Field(default_factory=list, max_length=50, description="待办事项")
    from_person_id: str | None = Field(None, description="交班人; default: outgoing chief")
    to_person_id: str | None = Field(None, description="接班人; default: incoming chief")
    corrects: int | None = Field(None, ge=1, le=2**63 - 1, description="id of a corrected note")


def create(conn: psycopg.Connection, note: HandoverInput, author: str, now: datetime) -> int:
    """Store ``note`` by ``author``; returns its id. ``now`` places a note that names no shift
    change at the nearest one (within 6 h). Raises InvalidArgumentError (with the field) for an
    office without a roster, no shift change there, a person not on that shift, or a corrected
    note of another office (HandoverError, naming the field)."""
    if SQL.one(conn, "office.sql", {"org": note.org_code}) is None:
        raise HandoverError("org_code", f"office {note.org_code} has no duty roster")
    change = _shift_change(conn, note.org_code, note.shift_change or now, note.shift_change)
    people = SQL.rows(conn, "shift_people.sql", {"org": note.org_code, "t": change})
    giver = _person(people, "from", note.from_person_id, change)
    taker = _person(people, "to", note.to_person_id, change)
    if note.corrects is not None:
        target = SQL.one(conn, "handover_target.sql", {"id": note.corrects})
        if target is None or target["org_code"] != note.org_code:
            raise HandoverError(
                "corrects", f"no hand-over note {note.corrects} of office {note.org_code}"
            )
    params = {
        "org_code": note.org_code,
        "shift_change": change,
        "from_person_id": giver["person_id"],
        "to_person_id": taker["person_id"],
        "from_name": giver["name"],
        "to_name": taker["name"],
        "text": note.text,
        "open_items": Jsonb(note.open_items),
        "corrects": note.corrects,
        "author": author,
    }
    return SQL.one(conn, "handover_insert.sql", params)["id"]


def _shift_change(
    conn: psycopg.Connection, org: str, at: datetime, explicit: datetime | None
) -> datetime:
    slack = 0 if explicit is not None else SHIFT_SLACK.total_seconds()
    row = SQL.one(conn, "shift_change.sql", {"org": org, "at": at, "slack_s": slack})
    if row is None:
        where = f"at {explicit.isoformat()}" if explicit else f"within 6 h of {at.isoformat()}"
        raise HandoverError(
            "shift_change",
            f"the roster of office {org} has no shift change {where}"
            " (交接班时间须为值班表中的换班时间)",
        )
    return row["shift_change"]


def _person(
    people: list[dict[str, Any]], side: str, wanted: str | None, change: datetime
) -> dict[str, Any]:
    """The named person of the outgoing (``from``) or incoming (``to``) shift, or its chief."""
    mine = [p for p in people if p["side"] == side]
    field = f"{side}_person_id"
    shift = f"the shift {'ending' if side == 'from' else 'starting'} at {change.isoformat()}"
    if wanted is not None:
        mine = [p for p in mine if p["person_id"] == wanted]
        if not mine:
            raise HandoverError(field, f"{wanted} holds no post on {shift}")
    if not mine:
        raise HandoverError(field, f"the roster has no {shift}")
    return mine[0]


def list_notes(
    conn: psycopg.Connection,
    area: str | None = None,
    *,
    org: str | None = None,
    note_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Notes of the offices in ``area`` (code prefix), shift changes in ``[since, until)``,
    oldest first, each with ``corrected_by`` (ids of the notes correcting it)."""
    params = {
        "area": area,
        "org": org,
        "id": note_id,
        "since": since,
        "until": until,
        "limit": limit,
    }
    return SQL.rows(conn, "handover_list.sql", params)
