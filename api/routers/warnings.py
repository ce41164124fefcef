"""Warnings: the GeoJSON list, one warning with its history, and its CAP XML (review actions:
``warning_review``).

Who sees what
-------------
- Without a token the list shows **issued** warnings (``status=cancelled,expired`` may be asked
  for; only warnings that were ever published), each as its *published* version: a pending draft
  (a candidate, or an escalation awaiting review) stays internal. Asking for candidates or
  rejected warnings without a token is 401.
- With any token ("read") every status is listed and each warning shows its *current* version,
  drafts included (``pending_review`` says whether it differs from what the public has).
- The detail of a never-published warning needs a token (401; 404 when there is no such id).
  The public detail carries the published versions and evidence; the audit trail, the impact
  summary (it holds phone numbers) and the delivery status need a token.
- A user bound to an area (a city or county, ``api/areas.py``) sees only warnings covering a
  village of its area: in the list, and 403 for the detail and CAP of any other.
- CAP XML of any published version is public: it was sent to the public already.
  ``?draft=1`` previews the CAP of the current draft (a candidate, or a pending update) for a
  reviewer (``review`` permission: forecaster, commander, admin; 401 without a token, 403 for
  other roles). The preview has CAP ``status`` ``Draft``, an identifier that is not a GB/T one
  and a ``<note>`` saying in Chinese and English that it was not issued; it is never cached.

Filters take known values only: an unknown ``status``, ``colour``, ``level``, ``hazard`` or
``rule`` is 422 naming the parameter and the values allowed (not 200 with nothing, which reads
as "no warnings"). ``level`` accepts the grade (一级), its number (1), the colour (red) and the
Chinese colour (红色) alike. Hazards and rules are those of the rules this service runs plus
those of stored warnings (a rule removed since still has its warnings).

List pages are cached per worker, keyed by a fingerprint of the warning table (one cheap query
per request) and sent with an ETag, so polling map clients cost almost nothing until a warning
changes; a changed warning changes the key at once (nothing is served stale).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from psycopg.rows import tuple_row

from riskmap.api.areas import check_warning, scope
from riskmap.api.auth import OptionalPrincipal, require, unauthorised
from riskmap.api.coverage import coverage
from riskmap.api.deps import Connection
from riskmap.api.ogc_params import parse_datetime
from riskmap.api.responses import invalid
from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.errors import NotFoundError
from riskmap.geo.impact import warning_impact
from riskmap.geo.vocabulary import COLOUR_OF_GRADE_ZH, COLOUR_ZH, COLOURS
from riskmap.geo.warnings.cap_xml import render_cap

SQL = SqlFiles("riskmap.api.sql")

router = APIRouter(prefix="/api", tags=["warnings"])

STATUSES = ("candidate", "issued", "rejected", "cancelled", "expired")
PUBLIC_STATUSES = frozenset({"issued", "cancelled", "expired"})
#: every way of naming a level: 一级, 1, red, 红色 (and 红) mean the same
LEVELS = (
    COLOUR_OF_GRADE_ZH
    | {"4": "blue", "3": "yellow", "2": "orange", "1": "red"}
    | {c: c for c in COLOURS}
    | {zh: c for c, zh in COLOUR_ZH.items()}
    | {zh[0]: c for c, zh in COLOUR_ZH.items()}
)
SIMPLIFY_DEGREES = 0.0001  # about 10 m: invisible at village scale, a fraction of the vertices
CAP_MEDIA_TYPE = "application/cap+xml"
GEOJSON = "application/geo+json"
WarningId = Annotated[int, Path(ge=1, le=2**62, description="warning id")]


def _csv(value: str | None, allowed: set[str] | None, what: str) -> list[str] | None:
    """A comma-separated filter as a list (None when absent), each value checked: an unknown
    one is 422 naming the parameter and the values allowed."""
    if value is None or not value.strip():
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    bad = [v for v in items if allowed is not None and v not in allowed]
    if bad:
        raise invalid(
            what, f"unknown {what} {', '.join(bad)}; allowed: {', '.join(sorted(allowed))}"
        )
    return items


@lru_cache(maxsize=4)
def _rule_words(dirs: tuple[str, ...]) -> tuple[frozenset[str], frozenset[str]]:
    """Hazards and rule ids of the rules the service runs (built-in and site folder), read once.

    The rules' loader (numpy, YAML, the expression language) is imported here, by the first
    filtered list, not by every API worker's start."""
    from riskmap.geo.rules.load import RuleFileError, load_rules

    try:
        rules = load_rules([FilePath(d) for d in dirs])
    except RuleFileError:  # the rules command reports it; filters fall back on stored warnings
        return frozenset(), frozenset()
    return frozenset(r.rule.hazard for r in rules), frozenset(r.rule.id for r in rules)


def _known(request: Request, conn: Connection) -> tuple[set[str], set[str]]:
    """The hazards and rule ids a filter may name: the rules' and the stored warnings'."""
    dirs = tuple(str(d) for d in request.app.state.settings.rule_dirs)
    hazards, rules = _rule_words(dirs)
    row = conn.execute(SQL("warning_filter_values.sql")).fetchone()
    return set(hazards) | set(row["hazards"]), set(rules) | set(row["rules"])


def _bbox(value: str | None) -> dict[str, float | None]:
    """``minLon,minLat,maxLon,maxLat`` (OGC API – Features, WGS 84)."""
    if value is None:
        return {"xmin": None, "ymin": None, "xmax": None, "ymax": None}
    try:
        xmin, ymin, xmax, ymax = (float(v) for v in value.split(","))
    except ValueError:
        raise HTTPException(422, "bbox must be minLon,minLat,maxLon,maxLat") from None
    if not (-180 <= xmin <= xmax <= 180 and -90 <= ymin <= ymax <= 90):
        raise HTTPException(422, "bbox must be minLon,minLat,maxLon,maxLat within WGS 84 bounds")
    return {"xmin": xmin, "ymin": ymin, "xmax": xmax, "ymax": ymax}


def _interval(value: str | None) -> dict[str, datetime | None]:
    """OGC ``datetime``: an instant, ``a/b``, ``a/..`` or ``../b``; warnings whose validity
    (from first firing to end or expiry) touches it."""
    if value is None:
        return {"start": None, "end": None}
    start, end = parse_datetime(value, status=422, open_interval=True)
    return {"start": start, "end": end}


def _page_links(request: Request, offset: int, limit: int, returned: int, matched: int) -> list:
    def at(o: int) -> str:
        return str(request.url.include_query_params(offset=o, limit=limit))

    links = [{"rel": "self", "type": GEOJSON, "href": str(request.url)}]
    if offset + returned < matched:
        links.append({"rel": "next", "type": GEOJSON, "href": at(offset + limit)})
    if offset > 0:
        links.append({"rel": "prev", "type": GEOJSON, "href": at(max(0, offset - limit))})
    return links


@router.get(
    "/warnings",
    summary="Warnings as GeoJSON (filters, paging)",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}, "description": "a GeoJSON FeatureCollection"}},
)
def list_warnings(
    request: Request,
    conn: Connection,
    principal: OptionalPrincipal,
    status: Annotated[
        str | None, Query(description="comma-separated: " + ", ".join(STATUSES))
    ] = None,
    level: Annotated[
        str | None, Query(description="四级…一级, 4…1, blue…red or 蓝色…红色; comma-separated")
    ] = None,
    colour: Annotated[str | None, Query(description="blue, yellow, orange, red")] = None,
    hazard: Annotated[str | None, Query(description="e.g. flash_flood,rainstorm")] = None,
    rule: Annotated[str | None, Query(description="rule ids, comma-separated")] = None,
    bbox: Annotated[str | None, Query(description="minLon,minLat,maxLon,maxLat")] = None,
    datetime_: Annotated[str | None, Query(alias="datetime", description="instant or a/b")] = None,
    village: Annotated[str | None, Query(pattern=r"^\d{12}$", description="village code")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    """Every matching warning with a resolved geometry (never null), newest change first.

    Without a token: issued warnings (published versions) only, unless ``status`` asks for
    cancelled or expired ones. ``numberMatched``/``numberReturned`` and ``next``/``prev`` links
    page through the rest (OGC API – Features).
    """
    public = principal is None
    statuses = _csv(status, set(STATUSES), "status")
    if public:
        statuses = statuses or ["issued"]
        if not set(statuses) <= PUBLIC_STATUSES:
            raise unauthorised("candidate and rejected warnings need a bearer token")
    colours = set(_csv(colour, set(COLOURS), "colour") or [])
    colours |= {LEVELS[v] for v in _csv(level, set(LEVELS), "level") or []}
    known_hazards, known_rules = _known(request, conn) if hazard or rule else (set(), set())
    params = {
        "public": public,
        "area": scope(principal),
        "statuses": statuses,
        "colours": sorted(colours) or None,
        "hazards": _csv(hazard, known_hazards, "hazard"),
        "rules": _csv(rule, known_rules, "rule"),
        "village": village,
        **_bbox(bbox),
        **_interval(datetime_),
        "limit": limit,
        "offset": offset,
        "tolerance": SIMPLIFY_DEGREES,
        "base": str(request.base_url) + "api/warnings/",
    }
    return _cached_page(request, conn, public, params)


def _cached_page(request: Request, conn: Connection, public: bool, params: dict) -> Response:
    """The page from this worker's cache when no warning changed since it was built (304 when
    the client holds it), else built by one SQL statement."""
    stamp = conn.execute(SQL("warnings_stamp.sql")).fetchone()
    key = (stamp["n"], stamp["xsum"], public, params["area"], str(request.url))
    etag = '"' + hashlib.blake2b(repr(key).encode(), digest_size=12).hexdigest() + '"'
    headers = {"ETag": etag, "Cache-Control": "no-cache", "Vary": "Authorization"}
    sent = request.headers.get("if-none-match", "")
    if etag in {t.strip().removeprefix("W/") for t in sent.split(",")}:
        return Response(status_code=304, headers=headers)
    pages = getattr(request.app.state, "warning_pages", None)
    if pages is None:
        pages = request.app.state.warning_pages = PageCache()
    body = pages.get(key)
    if body is None:
        with conn.cursor(row_factory=tuple_row) as cur:
            matched, returned, features = cur.execute(SQL("warnings_list.sql"), params).fetchone()
        head = {
            "type": "FeatureCollection",
            "numberMatched": matched,
            "numberReturned": returned,
            "timeStamp": datetime.now(UTC).isoformat(timespec="seconds"),
            "links": _page_links(request, params["offset"], params["limit"], returned, matched),
        }
        text = json.dumps(head, ensure_ascii=False)[:-1] + ', "features": ' + features + "}"
        body = text.encode()
        pages.put(key, body)
    return Response(body, media_type=GEOJSON, headers=headers)


class PageCache:
    """The last few list pages built, keyed by the warning table's fingerprint and the request:
    map clients poll the same pages, and a page only changes when a warning does."""

    def __init__(self, size: int = 256) -> None:
        self._pages: OrderedDict[tuple, bytes] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: tuple) -> bytes | None:
        with self._lock:
            body = self._pages.get(key)
            if body is not None:
                self._pages.move_to_end(key)
            return body

    def put(self, key: tuple, body: bytes) -> None:
        with self._lock:
            self._pages[key] = body
            while len(self._pages) > self._size:
                self._pages.popitem(last=False)


@router.get(
    "/warnings/{warning_id}.cap",
    summary="CAP 1.2 XML of a published version (or, for reviewers, a draft preview)",
    response_class=Response,
    responses={
        200: {"content": {CAP_MEDIA_TYPE: {}}},
        401: {"description": "draft=1 without a token"},
        403: {"description": "draft=1 for a role that may not review"},
        404: {"description": "never published (or, with draft=1, no draft awaiting review)"},
    },
)
def warning_cap(
    request: Request,
    conn: Connection,
    principal: OptionalPrincipal,
    warning_id: WarningId,
    version: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
    draft: Annotated[
        bool, Query(description="preview the current draft (status Draft; reviewers only)")
    ] = False,
) -> Response:
    """The CAP message (GB/T 35965.1 profile, zh-CN and en-US ``<info>``) the public has now,
    or the published ``version`` asked for; 404 while the warning was never published.

    ``draft=1``: the preview of the draft awaiting review, for reviewers only."""
    check_warning(conn, principal, warning_id)
    if draft:
        require("review")(request, conn, principal)  # 401 without a token, 403 for other roles
        if version is not None:
            raise invalid("version", "a draft preview shows the current draft; omit version")
        doc = render_cap(conn, warning_id, draft=True)
        headers = {"Cache-Control": "private, no-store"}
        return Response(doc, media_type=CAP_MEDIA_TYPE, headers=headers)
    doc = render_cap(conn, warning_id, version)
    # a given version never changes; "the current one" may be superseded at any moment
    cache = "public, max-age=86400, immutable" if version else "public, max-age=30"
    return Response(doc, media_type=CAP_MEDIA_TYPE, headers={"Cache-Control": cache})


@router.get("/warnings/{warning_id}", summary="One warning with versions, evidence and history")
def get_warning(
    request: Request, conn: Connection, principal: OptionalPrincipal, warning_id: WarningId
) -> dict:
    """The warning as a GeoJSON Feature with its versions and evidence; with a token also its
    audit trail, impact summary, delivery status (outbox counts per channel and status) and
    coverage (villages reached, acknowledged, not reached, by township)."""
    public = principal is None
    check_warning(conn, principal, warning_id)
    row = conn.execute(SQL("warnings_get.sql"), {"id": warning_id, "public": public}).fetchone()
    if row is None:
        raise NotFoundError(f"no warning {warning_id}")
    if public and row["published_version"] is None:
        raise unauthorised("this warning was never published; it needs a bearer token")
    q = {"id": warning_id, "public": public}
    versions = conn.execute(SQL("warnings_versions.sql"), q).fetchall()
    shown = row["published_version"] if public else row["current_version"]
    current = next((v for v in versions if v["version"] == shown), versions[-1])
    out: dict[str, Any] = {
        "type": "Feature",
        "id": warning_id,
        "geometry": row.pop("geometry"),
        "properties": row | {"shown_version": shown},
        "evidence": current["evidence"],
        "versions": versions,
    }
    if not public:
        out["audit"] = conn.execute(SQL("warnings_audit.sql"), q).fetchall()
        out["delivery"] = _delivery(conn.execute(SQL("warnings_delivery.sql"), q).fetchall())
        out["impact"] = _impact(conn, warning_id)
        minutes = request.app.state.settings.coverage_minutes
        out["coverage"] = coverage(conn, warning_id, minutes)
    return out


def _delivery(rows: list[dict]) -> dict[str, Any]:
    by_channel: dict[str, dict[str, int]] = {}
    for r in rows:
        counts = by_channel.setdefault(r["channel"], {})
        counts[r["status"]] = counts.get(r["status"], 0) + r["n"]
    return {"by_channel": by_channel, "by_version": rows}


def _impact(conn: Connection, warning_id: int) -> dict[str, Any] | None:
    try:
        return warning_impact(conn, warning_id)
    except (LookupError, ValueError) as exc:  # e.g. a hazard the impact tables do not know
        return {"error": str(exc)}
