"""Field reports (灾情直报): what reporters saw on the ground, checked and stored with their
photos, then verified (已核实) or found false (不实) by a forecaster.

Each insert and each verification sends ``pg_notify('riskmap_events', …)`` with
``{"kind": "field_report", "id", "status", "report_kind", "village_code"}`` in the same
transaction, so listeners hear of it exactly when it is committed.

The rules engine reads reports through the SQL view ``observed_event`` (migration 0020):
received and verified reports (not those found false) with ``kind``, ``village_code``,
``observed_at``, ``status``/``verified`` and the point.

Photos are validated with Pillow (JPEG, PNG or WebP only, size and pixel limits, the file must
decode) and stored as ``<data_dir>/reports/<id>/<n>.<ext>`` with their SHA-256.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.errors import DataError, InvalidArgumentError, NotFoundError

SQL = SqlFiles("riskmap.geo.sql")

ReportKind = Literal[
    "landslide", "collapse", "debris_flow", "flood", "waterlogging", "fire", "other"
]  # fmt: skip
REPORT_KINDS: tuple[str, ...] = get_args(ReportKind)
KIND_LABELS = {
    "landslide": "滑坡",
    "collapse": "崩塌",
    "debris_flow": "泥石流",
    "flood": "洪水",
    "waterlogging": "内涝",
    "fire": "火情",
    "other": "其他",
}
Verdict = Literal["verified", "false"]
STATUS_LABELS = {"received": "已接收", "verified": "已核实", "false": "不实"}
EVENT_CHANNEL = "riskmap_events"

MAX_TEXT = 2000
MAX_PHOTOS = 6
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 50_000_000
#: clock skew allowed between a reporter's phone and the server
FUTURE_SLACK = timedelta(minutes=5)
#: how far a report's point may lie outside the village it names: a phone's position in the
#: mountains is often 50–200 m off, and a reporter may stand just across the village line (on
#: the road, at the river) to see what happened; farther than this the point or the village is
#: wrong, and a report filed under the wrong village misleads the rules and the map.
VILLAGE_SLACK_M = 500.0
#: the photo formats taken: Pillow's name → (media type, file extension)
PHOTO_FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}
_MAX_COUNT = 10_000_000

Count = Annotated[int, Field(ge=0, le=_MAX_COUNT)]
# PostgreSQL text cannot hold NUL; other control characters (but tab and newlines) are noise
_PRINTABLE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$"
Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT, pattern=_PRINTABLE),
]
Note = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=MAX_TEXT, pattern=_PRINTABLE)
]


class Damage(BaseModel):
    """Structured losses (all optional, none negative)."""

    model_config = ConfigDict(extra="forbid")

    houses_collapsed: Count | None = None  # 倒塌房屋 (间)
    houses_damaged: Count | None = None  # 损坏房屋 (间)
    roads_blocked: Count | None = None  # 道路中断 (处)
    farmland_ha: float | None = Field(None, ge=0, le=1e7)  # 受灾农田 (公顷)
    economic_loss_10k_cny: float | None = Field(None, ge=0, le=1e9)  # 直接经济损失 (万元)


class ReportInput(BaseModel):
    """What a reporter sends; the same fields as JSON or as multipart form fields."""

    model_config = ConfigDict(extra="forbid")

    kind: ReportKind
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    village_code: str | None = Field(None, pattern=r"^\d{12}$")
    observed_at: AwareDatetime
    text: Text
    people_affected: Count | None = None
    dead: Count | None = None
    injured: Count | None = None
    missing: Count | None = None
    damage: Damage = Field(default_factory=Damage)


class ReportError(DataError):
    """A report refused; ``field`` names the input at fault (``photos[2]``, ``observed_at``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Photo:
    """A checked photo, ready to store."""

    data: bytes
    content_type: str
    ext: str
    width: int
    height: int
    sha256: str
    filename: str | None = None


def check_photo(data: bytes, n: int, filename: str | None = None) -> Photo:
    """Decode the bytes with Pillow: JPEG, PNG or WebP within the size and pixel limits.

    ``n`` counts from 1 and names the photo in errors (``photos[n]``). Pillow is imported here,
    by the first photo, not by every API worker's start (the API reads this module's limits).
    """
    from PIL import Image, UnidentifiedImageError

    field = f"photos[{n}]"
    if not data:
        raise ReportError(field, "empty file")
    if len(data) > MAX_PHOTO_BYTES:
        raise ReportError(field, f"larger than {MAX_PHOTO_BYTES // 2**20} MB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=list(PHOTO_FORMATS)) as im:
                fmt, (width, height) = im.format, im.size
                if width * height > MAX_PIXELS:
                    raise ReportError(field, f"more than {MAX_PIXELS:,} pixels")
                im.verify()
            with Image.open(io.BytesIO(data), formats=list(PHOTO_FORMATS)) as im:
                im.load()  # verify() skips the pixel data; a truncated file fails here
    except ReportError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Warning) as exc:
        raise ReportError(field, "not a readable JPEG, PNG or WebP image") from exc
    content_type, ext = PHOTO_FORMATS[fmt]
    digest = hashlib.sha256(data).hexdigest()
    return Photo(data, content_type, ext, width, height, digest, filename)


def resolve_village(
    conn: psycopg.Connection, report: ReportInput, now: datetime | None = None
) -> str:
    """Check what the schema cannot (time, place) and return the report's village code.

    The point must lie in one of the loaded villages (the county). ``village_code``, when
    given, must be a known village that contains the point or lies within
    :data:`VILLAGE_SLACK_M` of it (GPS error, a reporter at the village edge); else the report
    is refused naming ``village_code``, the village the point lies in and the distance. Without
    it the village containing the point is used.
    """
    now = now or datetime.now().astimezone()
    if report.observed_at > now + FUTURE_SLACK:
        raise ReportError("observed_at", "in the future (more than 5 minutes ahead)")
    point = {"lon": report.lon, "lat": report.lat}
    found = SQL.one(conn, "reports_village_at.sql", point, shape="tuple")
    if found is None:
        raise ReportError(
            "lon", f"the point ({report.lon}, {report.lat}) lies outside the county's villages"
        )
    if report.village_code is None or report.village_code == found[0]:
        return found[0]
    named = SQL.one(
        conn, "reports_village_distance.sql", point | {"code": report.village_code}, shape="tuple"
    )
    if named is None:
        raise ReportError("village_code", f"unknown village {report.village_code}")
    distance_m, name = named
    if distance_m <= VILLAGE_SLACK_M:
        return report.village_code
    raise ReportError(
        "village_code",
        f"位置不在{name}：该点位于{found[1]}（{found[0]}），距{name}{distance_m / 1000:.1f} km，"
        f"请核对村或位置 / the point lies in {found[0]}, {distance_m / 1000:.1f} km from "
        f"{report.village_code}; at most {VILLAGE_SLACK_M:.0f} m outside the village is accepted",
    )


def _notify(conn: psycopg.Connection, row: dict[str, Any]) -> None:
    payload = {
        "kind": "field_report",
        "id": row["id"],
        "status": row["status"],
        "report_kind": row["kind"],
        "village_code": row["village_code"],
    }
    conn.execute(SQL("reports_notify.sql"), {"payload": json.dumps(payload)})


def create(
    conn: psycopg.Connection,
    report: ReportInput,
    reporter: str,
    photos: list[Photo],
    data_dir: Path,
) -> int:
    """Store a report and its photos in one transaction and announce it; returns its id.

    Photos are written under ``data_dir/reports/<id>/``; if anything fails the folder is
    removed and nothing is kept.
    """
    if len(photos) > MAX_PHOTOS:
        raise ReportError("photos", f"at most {MAX_PHOTOS} photos")
    folder: Path | None = None
    try:
        with conn.transaction():
            village = resolve_village(conn, report)
            params = report.model_dump() | {
                "village_code": village,
                "reporter": reporter,
                "damage": Jsonb(report.damage.model_dump(exclude_none=True)),
            }
            row = SQL.one(conn, "reports_insert.sql", params, shape="tuple")
            report_id, status = row[0], row[1]
            folder = data_dir / "reports" / str(report_id)
            folder.mkdir(parents=True, exist_ok=True)
            for n, photo in enumerate(photos, start=1):
                relative = Path("reports") / str(report_id) / f"{n}.{photo.ext}"
                _write(data_dir / relative, photo.data)
                conn.execute(
                    SQL("reports_photo_insert.sql"),
                    {
                        "report_id": report_id,
                        "n": n,
                        "path": relative.as_posix(),
                        "content_type": photo.content_type,
                        "bytes": len(photo.data),
                        "sha256": photo.sha256,
                        "width": photo.width,
                        "height": photo.height,
                        "filename": _clean_name(photo.filename),
                    },
                )
            _notify(conn, {"id": report_id, "status": status, **params, "kind": report.kind})
    except BaseException:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    return report_id


def _clean_name(name: str | None) -> str | None:
    """The uploaded file name for display: printable characters only, at most 200."""
    kept = "".join(ch for ch in (name or "") if ch.isprintable())[:200]
    return kept or None


def _write(path: Path, data: bytes) -> None:
    """Write whole or not at all (a temporary name, then an atomic rename)."""
    tmp = path.with_suffix(path.suffix + ".part")
    tmp.write_bytes(data)
    tmp.replace(path)


def verify(
    conn: psycopg.Connection, report_id: int, status: str, verifier: str, note: str | None = None
) -> dict[str, Any]:
    """Record a forecaster's finding (``verified`` or ``false``) and announce it."""
    if status not in get_args(Verdict):
        raise InvalidArgumentError(f"status must be verified or false, got {status!r}")
    with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        params = {"id": report_id, "status": status, "verifier": verifier, "note": note}
        row = cur.execute(SQL("reports_verify.sql"), params).fetchone()
        if row is None:
            raise NotFoundError(f"no field report {report_id}")
        _notify(conn, row)
    return get(conn, report_id)


def search(
    conn: psycopg.Connection,
    *,
    report_id: int | None = None,
    status: list[str] | None = None,
    kind: list[str] | None = None,
    village_code: str | None = None,
    township_code: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    area: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Reports matching every given filter, newest observation first, with photo metadata;
    ``area`` is a code prefix (a city's 4 digits, a county's 6) their villages must start with."""
    params = {
        "area": area,
        "id": report_id,
        "status": status,
        "kind": kind,
        "village_code": village_code,
        "township_code": township_code,
        "since": since,
        "until": until,
        "bbox": list(bbox) if bbox else None,
        "limit": limit,
        "offset": offset,
    }
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(SQL("reports_select.sql"), params).fetchall()
    for r in rows:
        r["kind_zh"] = KIND_LABELS[r["kind"]]
        r["status_zh"] = STATUS_LABELS[r["status"]]
    return rows


def get(conn: psycopg.Connection, report_id: int) -> dict[str, Any]:
    """One report; NotFoundError if there is none."""
    rows = search(conn, report_id=report_id, limit=1)
    if not rows:
        raise NotFoundError(f"no field report {report_id}")
    return rows[0]


def photo_file(
    conn: psycopg.Connection, report_id: int, n: int, data_dir: Path
) -> tuple[Path, str]:
    """Path and content type of a report's n-th photo; NotFoundError if missing.

    The stored path is trusted no further than the report's own folder: a row pointing
    elsewhere (``../../etc/passwd``, an absolute path, a symlink out) is not served."""
    row = SQL.one(conn, "reports_photo.sql", {"id": report_id, "n": n}, shape="tuple")
    if row is None:
        raise NotFoundError(f"field report {report_id} has no photo {n}")
    folder = (data_dir / "reports" / str(report_id)).resolve()
    path = (data_dir / row[0]).resolve()
    if not path.is_relative_to(folder):
        raise NotFoundError(f"photo {n} of field report {report_id} lies outside its folder")
    if not path.is_file():
        raise NotFoundError(f"photo {n} of field report {report_id} is missing from the store")
    return path, row[1]
