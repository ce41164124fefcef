"""The error answers of ``/openapi.json``, documented in one place.

Every error body is ``{"detail": …}``: a message, or FastAPI's list of field errors (``loc``,
``msg``, ``type``); a 5xx adds the ``request_id`` of its log line and an OGC exception its
``code`` and ``description`` (:class:`ErrorBody`). The statuses an operation may answer follow
from what it is made of, so no route lists the common ones by hand:

* a dependency marked with :func:`answers`: the bearer-token check (401 for a bad token, the
  token optional), a role check (401 and 403, 429 on writes, the token required), a pooled
  connection (503);
* a request body: 400 (not JSON or form data), 413 (too large, ``api/bodylimit.py``), 422;
* a path parameter: 404 (no such thing); any parameter: 422.

A route declares the statuses of its own (409 for a state that does not allow an action, 415,
404 for a missing grid …) in its ``responses=``, with a description; the body schema is added
here. Operations whose token is optional list ``{}`` among their security requirements, as
OpenAPI writes "anonymous callers welcome". (Schemathesis checks every answer against this
document for every role: ``tests/api/test_schemathesis.py``.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant
from pydantic import BaseModel, ConfigDict, Field

MARK = "__openapi_answers__"
REF = "#/components/schemas/{model}"
F = TypeVar("F", bound=Callable[..., Any])

DESCRIPTIONS = {
    400: "a malformed request: a body that is not JSON or form data",
    401: "no bearer token, or an unknown, revoked or expired one",
    403: "the token's role may not do this, or it lies outside the caller's area",
    404: "no such thing",
    409: "the thing's state does not allow this",
    413: "the request body is too large",
    415: "a request body of a media type this operation does not take",
    422: "a parameter or body field is invalid; `detail` names it",
    429: "too many requests; try again after `Retry-After` seconds",
    503: "the database is unavailable, or the server is too busy (`Retry-After`)",
}
HEADERS = {
    401: {"WWW-Authenticate": "`Bearer`, the scheme to authenticate with"},  # token checks only
    429: {"Retry-After": "seconds to wait"},
}


class FieldError(BaseModel):
    """One invalid input, as FastAPI reports it."""

    model_config = ConfigDict(extra="allow")  # pydantic adds input and ctx
    loc: list[str | int] = Field(description="where: query, path, body … and the field")
    msg: str
    type: str


class ErrorBody(BaseModel):
    """An error answer."""

    model_config = ConfigDict(extra="allow")  # OGC exceptions add code and description
    detail: str | list[FieldError] = Field(description="what went wrong")
    request_id: str | None = Field(None, description="5xx: the request id of the log line")


@dataclass(frozen=True)
class Answers:
    """The error statuses a dependency answers with, and whether it makes a token optional
    (``"optional"``) or required (``"required"``)."""

    statuses: frozenset[int]
    token: Literal["optional", "required"] | None


def answers(*statuses: int, token: Literal["optional", "required"] | None = None):
    """Mark a dependency with the error statuses it answers (see the module docstring)."""

    def mark(func: F) -> F:
        setattr(func, MARK, Answers(frozenset(statuses), token))
        return func

    return mark


def described(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """A route's ``responses=`` for error statuses of its own, with the shared descriptions."""
    return {status: {"description": DESCRIPTIONS[status]} for status in statuses}


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``model``'s JSON schema with its ``$defs`` written in place, for a schema given by hand
    (``openapi_extra``): the OpenAPI document has no ``#/$defs`` for references to point at."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(defs[node["$ref"].rsplit("/", 1)[-1]])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(value) for value in node]
        return node

    return resolve(schema)


def document_errors(app: FastAPI) -> None:
    """Complete ``app``'s OpenAPI document with the error answers of every operation (once,
    when it is first asked for)."""
    build = app.openapi
    completed: dict[str, Any] | None = None

    def openapi() -> dict[str, Any]:
        nonlocal completed
        doc = build()  # FastAPI's, cached until the routes change
        if doc is not completed:
            _complete(doc, _api_routes(app))
            completed = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]


def _api_routes(app: FastAPI) -> list[Any]:
    """The API routes with their full paths and dependencies: FastAPI 0.16x keeps an included
    router whole (its routes' own ``path_format`` lacks the prefix) and walks it like this."""
    walk = getattr(routing, "iter_route_contexts", iter)
    api_route = routing.APIRoute
    return [r for r in walk(app.routes) if isinstance(getattr(r, "original_route", r), api_route)]


def _marks(dependant: Dependant) -> Iterator[Answers]:
    for sub in dependant.dependencies:
        found = getattr(sub.call, MARK, None)
        if found is not None:
            yield found
        yield from _marks(sub)


def _complete(doc: dict[str, Any], routes: list[Any]) -> None:
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    body = ErrorBody.model_json_schema(ref_template=REF)
    schemas.update(body.pop("$defs", {}))
    schemas["ErrorBody"] = body
    for schema in ("HTTPValidationError", "ValidationError"):  # replaced by ErrorBody
        schemas.pop(schema, None)
    for route in routes:
        if not route.include_in_schema:
            continue
        marks = list(_marks(route.dependant))
        for method in route.methods:
            op = doc["paths"].get(route.path_format, {}).get(method.lower())
            if op is not None:
                _complete_operation(op, marks)


def _complete_operation(op: dict[str, Any], marks: list[Answers]) -> None:
    statuses = {s for m in marks for s in m.statuses}
    params = op.get("parameters", [])
    if "requestBody" in op:
        statuses |= {400, 413, 422}
    if params:
        statuses.add(422)
    if any(p.get("in") == "path" for p in params):
        statuses.add(404)
    tokens = {m.token for m in marks}
    responses = op.setdefault("responses", {})
    for status in sorted(statuses | {int(s) for s in responses if s.isdigit()}):
        if status < 400:
            continue
        answer = responses.setdefault(str(status), {"description": DESCRIPTIONS[status]})
        if status == 422 or not any(c.get("schema") for c in answer.get("content", {}).values()):
            answer["content"] = {
                "application/json": {"schema": {"$ref": REF.format(model="ErrorBody")}}
            }
        if status == 429 or (status == 401 and tokens - {None}):
            answer.setdefault("headers", {}).update(_headers(status))
    if "optional" in tokens and "required" not in tokens and {} not in op.get("security", []):
        op.setdefault("security", []).append({})


def _headers(status: int) -> dict[str, Any]:
    return {
        name: {"description": text, "required": True, "schema": {"type": "string"}}
        for name, text in HEADERS[status].items()
    }
