"""OGC API – Features, Part 1 (Core + GeoJSON) over riskmap's layers, under ``/ogc``.

The landing page, conformance and collection metadata are public, and so are the items of
``active-warnings`` (issued warnings are public); the items of every other collection need a
token with the ``read`` permission. A token bound to an area (a city or county) gets only its
area's features (``api/areas.py``; 403 for one feature outside it). Features are built as
GeoJSON by PostGIS (one statement per page: filter, count, page, ``json_agg``) and spliced into
the response without re-parsing.

Paging is by ``offset`` with ``next``/``prev`` links and a stable order (the feature id).
Parameters follow the standard strictly: an unknown query parameter, a malformed ``bbox`` or
``datetime`` and a ``limit`` outside 1…10000 are answered 400 (not clamped), with an OGC
exception body (``code``, ``description``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Coroutine
from http import HTTPStatus
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field

from riskmap.api.areas import outside, scope
from riskmap.api.auth import OptionalPrincipal, require
from riskmap.api.deps import Connection
from riskmap.api.docs import DOCS_URL
from riskmap.api.ogc_collections import COLLECTIONS, Collection
from riskmap.api.ogc_params import parse_bbox, parse_datetime
from riskmap.geo.db.sqlfiles import SqlFiles

SQL = SqlFiles("riskmap.api.sql")

GEOJSON = "application/geo+json"
JSON = "application/json"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GREGORIAN = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
MAX_LIMIT = 10_000
_OGC_CODES = {400: "InvalidParameterValue", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound"}
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Unknown query parameter or invalid value (OGC exception body)"},
    401: {"description": "Token missing or invalid (every collection but active-warnings)"},
    403: {"description": "The token's role may not read"},
    404: {"description": "No such collection or feature"},
}


def _exception(status: int, description: str, headers: dict[str, str] | None = None) -> Response:
    """An OGC exception body (``code``, ``description``), plus ``detail`` as the rest of the API."""
    code = _OGC_CODES.get(status, HTTPStatus(status).phrase)
    body = {"code": code, "description": description, "detail": description}
    return JSONResponse(body, status_code=status, headers=headers)


class OGCRoute(APIRoute):
    """Answers invalid parameters with 400 (the standard's code, not FastAPI's 422) and every
    HTTP error under /ogc with an OGC exception body."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                what = "; ".join(
                    f"{e['loc'][-1]}: {e['msg']}" if e.get("loc") else e["msg"]
                    for e in exc.errors()
                )
                return _exception(400, what)
            except HTTPException as exc:
                return _exception(exc.status_code, str(exc.detail), exc.headers)

        return route


router = APIRouter(prefix="/ogc", tags=["OGC API – Features"], route_class=OGCRoute)
_read = require("read")


class MetaParams(BaseModel):
    """Query parameters of the metadata pages: only the format."""

    model_config = ConfigDict(extra="forbid")
    f: Literal["json"] | None = Field(None, description="Output format (JSON only)")


class FeatureParams(BaseModel):
    """Query parameters of a single feature."""

    model_config = ConfigDict(extra="forbid")
    f: Literal["json", "geojson"] | None = Field(None, description="Output format (GeoJSON)")


class ItemsParams(FeatureParams):
    """Query parameters of the items of a collection (OGC API – Features Part 1 core)."""

    bbox: str | None = Field(
        None,
        description="minLon,minLat,maxLon,maxLat in CRS84 (6 numbers with heights accepted; "
        "minLon > maxLon crosses the antimeridian)",
        examples=["109.6,27.6,109.8,27.8"],
    )
    datetime: str | None = Field(
        None,
        description="RFC 3339 instant or interval (a/b, ../b, a/..), on collections with time",
        examples=["2026-07-14T08:00:00Z", "2026-07-14T00:00:00Z/.."],
    )
    limit: int = Field(100, ge=1, le=MAX_LIMIT, description="Features per page (1…10000)")
    offset: int = Field(
        0, ge=0, le=100_000_000, description="Features to skip (follow the `next` link)"
    )
    township_code: str | None = Field(
        None, pattern=r"^\d{9}$", description="9-digit township code (where the layer has one)"
    )
    village_code: str | None = Field(
        None, pattern=r"^\d{12}$", description="12-digit village code (where the layer has one)"
    )


def _collection(
    collection_id: Annotated[
        str, Path(description="Collection id (see /ogc/collections)", examples=list(COLLECTIONS))
    ],
) -> Collection:
    collection = COLLECTIONS.get(collection_id)
    if collection is None:
        raise HTTPException(404, f"no collection {collection_id!r}; see /ogc/collections")
    return collection


def _readable(
    request: Request,
    conn: Connection,
    collection: Annotated[Collection, Depends(_collection)],
    principal: OptionalPrincipal,
) -> Collection:
    """The collection, once the caller may read its items (issued warnings are public)."""
    if not collection.public:
        _read(request, conn, principal)
    return collection


Readable = Annotated[Collection, Depends(_readable)]
Known = Annotated[Collection, Depends(_collection)]


def _query(conn: Connection, collection: Collection, **given: Any) -> dict[str, Any]:
    params = dict.fromkeys(("bbox", "t0", "t1", "id", "township_code", "village_code", "area"))
    params |= {"limit": 1, "offset": 0} | given
    # times inside the GeoJSON are rendered by PostgreSQL: make them UTC whatever the server's zone
    conn.execute("SET LOCAL TimeZone = 'UTC'")
    return conn.execute(SQL(collection.sql), params).fetchone()


def _url(request: Request, name: str, **path: str) -> str:
    return str(request.url_for(name, **path))


def _link(href: str, rel: str, type_: str, title: str | None = None) -> dict[str, str]:
    link = {"href": href, "rel": rel, "type": type_}
    if title:
        link["title"] = title
    return link


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _iso(t: dt.datetime | None) -> str | None:
    return t.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if t else None


@router.get(
    "", name="ogc_landing", summary="OGC API – Features landing page", responses={400: _ERRORS[400]}
)
def landing(request: Request, params: Annotated[MetaParams, Query()]) -> dict[str, Any]:
    """Links to the API definition, its documentation, the conformance classes and the data."""
    base = str(request.base_url).rstrip("/")
    links = [
        _link(_url(request, "ogc_landing"), "self", JSON, "本页 This document"),
        _link(
            base + request.app.openapi_url,
            "service-desc",
            "application/vnd.oai.openapi+json;version=3.0",
            "API 定义 API definition",
        ),
        _link(_url(request, "ogc_conformance"), "conformance", JSON, "符合性 Conformance"),
        _link(_url(request, "ogc_collections"), "data", JSON, "数据集 Collections"),
    ]
    links.insert(
        2, _link(base + DOCS_URL, "service-doc", "text/html", "API 文档 API documentation")
    )
    return {
        "title": "riskmap 风险一张图 OGC API – Features",
        "description": "县级应急管理局风险与预警图层。"
        " Risk, resource and warning layers of a county emergency-management bureau.",
        "links": links,
    }


@router.get(
    "/conformance",
    name="ogc_conformance",
    summary="Conformance classes",
    responses={400: _ERRORS[400]},
)
def conformance(params: Annotated[MetaParams, Query()]) -> dict[str, list[str]]:
    """The OGC API – Features Part 1 classes implemented: core, GeoJSON and OpenAPI 3.0."""
    return {"conformsTo": CONFORMANCE}


def _describe(request: Request, c: Collection, extent: dict[str, Any] | None) -> dict[str, Any]:
    items = _url(request, "ogc_items", collection_id=c.id)
    body: dict[str, Any] = {
        "id": c.id,
        "title": c.title,
        "description": c.description,
        "itemType": "feature",
        "crs": [CRS84],
        "links": [
            _link(_url(request, "ogc_collection", collection_id=c.id), "self", JSON, c.title),
            _link(items, "items", GEOJSON, c.title),
        ],
        "extent": {},
    }
    if extent and extent["xmin"] is not None:
        box = [extent["xmin"], extent["ymin"], extent["xmax"], extent["ymax"]]
        body["extent"]["spatial"] = {"bbox": [box], "crs": CRS84}
    if c.temporal:
        interval = [_iso(extent["t0"]), _iso(extent["t1"])] if extent else [None, None]
        body["extent"]["temporal"] = {"interval": [interval], "trs": GREGORIAN}
    body["public"] = c.public
    return body


def _extents(conn: Connection) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in conn.execute(SQL("ogc_extents.sql"))}


@router.get(
    "/collections",
    name="ogc_collections",
    summary="Feature collections",
    responses={400: _ERRORS[400]},
)
def collections(
    request: Request, conn: Connection, params: Annotated[MetaParams, Query()]
) -> dict[str, Any]:
    """Every collection with its extent computed from the data (public metadata)."""
    extents = _extents(conn)
    return {
        "links": [_link(_url(request, "ogc_collections"), "self", JSON)],
        "collections": [_describe(request, c, extents.get(c.id)) for c in COLLECTIONS.values()],
    }


@router.get(
    "/collections/{collection_id}",
    name="ogc_collection",
    summary="One collection",
    responses={400: _ERRORS[400], 404: _ERRORS[404]},
)
def collection(
    request: Request, conn: Connection, c: Known, params: Annotated[MetaParams, Query()]
) -> dict[str, Any]:
    """The collection's description, extent and links to its items."""
    return _describe(request, c, _extents(conn).get(c.id))


@router.get(
    "/collections/{collection_id}/items",
    name="ogc_items",
    summary="Features of a collection (GeoJSON)",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}} | _ERRORS,
)
def items(
    request: Request,
    conn: Connection,
    c: Readable,
    params: Annotated[ItemsParams, Query()],
    principal: OptionalPrincipal,
) -> Response:
    """A page of features filtered by bbox, datetime and the collection's property filters."""
    for name in ("township_code", "village_code"):
        if getattr(params, name) is not None and name not in c.filters:
            raise HTTPException(400, f"{c.id} has no {name} filter (it has {list(c.filters)})")
    t0, t1 = parse_datetime(params.datetime) if params.datetime else (None, None)
    row = _query(
        conn,
        c,
        bbox=parse_bbox(params.bbox) if params.bbox else None,
        t0=t0 if c.temporal else None,
        t1=t1 if c.temporal else None,
        township_code=params.township_code,
        village_code=params.village_code,
        area=scope(principal),
        limit=params.limit,
        offset=params.offset,
    )
    matched = row["matched"]
    returned = max(0, min(params.limit, matched - params.offset))
    links = [
        _link(str(request.url), "self", GEOJSON, "本页 This page"),
        _link(_url(request, "ogc_collection", collection_id=c.id), "collection", JSON, c.title),
    ]
    if params.offset + returned < matched:
        nxt = request.url.include_query_params(offset=params.offset + returned, limit=params.limit)
        links.append(_link(str(nxt), "next", GEOJSON, "下一页 Next page"))
    if params.offset > 0:
        prev = max(0, params.offset - params.limit)
        back = request.url.include_query_params(offset=prev, limit=params.limit)
        links.append(_link(str(back), "prev", GEOJSON, "上一页 Previous page"))
    head = {
        "numberMatched": matched,
        "numberReturned": returned,
        "timeStamp": _now(),
        "links": links,
    }
    body = '{"type":"FeatureCollection","features":' + row["features"] + ","
    body += json.dumps(head, ensure_ascii=False)[1:]
    return Response(body, media_type=GEOJSON)


@router.get(
    "/collections/{collection_id}/items/{feature_id}",
    name="ogc_feature",
    summary="One feature (GeoJSON)",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}} | _ERRORS,
)
def feature(
    request: Request,
    conn: Connection,
    c: Readable,
    feature_id: str,
    params: Annotated[FeatureParams, Query()],
    principal: OptionalPrincipal,
) -> Response:
    """The feature ``feature_id`` of the collection; 404 when there is none, 403 when it lies
    outside the caller's area."""
    area = scope(principal)
    row = _query(conn, c, id=feature_id, area=area)
    if not row["matched"]:
        if area is not None and _query(conn, c, id=feature_id)["matched"]:
            raise outside(conn, principal, f"{c.id} feature {feature_id!r}")
        raise HTTPException(404, f"no feature {feature_id!r} in {c.id}")
    body = json.loads(row["features"])[0]
    body["links"] = [
        _link(str(request.url), "self", GEOJSON),
        _link(_url(request, "ogc_collection", collection_id=c.id), "collection", JSON, c.title),
    ]
    return Response(json.dumps(body, ensure_ascii=False), media_type=GEOJSON)
