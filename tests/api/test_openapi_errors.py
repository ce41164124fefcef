"""The error answers in /openapi.json (api/openapi.py), a true ``Allow`` on 405 (api/errors.py)
and dates and times as text only (api/params.py): what test_schemathesis.py found missing, pinned
here on a few operations."""

from __future__ import annotations

import json

import pytest

ERROR_BODY = {"$ref": "#/components/schemas/ErrorBody"}


@pytest.fixture(scope="module")
def spec(service) -> dict:
    with service.client() as c:
        return c.get("/openapi.json").json()


def test_a_write_action_documents_every_error_it_answers(spec) -> None:
    op = spec["paths"]["/api/warnings/{warning_id}/issue"]["post"]
    errors = {s for s in op["responses"] if int(s) >= 400}
    # token and role (401, 403, 429), the warning (404), its state (409), the body (400, 413, 422)
    assert errors == {"400", "401", "403", "404", "409", "413", "422", "429", "503"}
    for status in errors:
        assert op["responses"][status]["content"]["application/json"]["schema"] == ERROR_BODY
    assert op["responses"]["401"]["headers"]["WWW-Authenticate"]["required"] is True
    assert op["responses"]["429"]["headers"]["Retry-After"]["required"] is True
    assert op["security"] == [{"HTTPBearer": []}]


def test_an_optional_token_is_documented_as_optional(spec) -> None:
    assert {} in spec["paths"]["/api/warnings"]["get"]["security"]  # public: issued warnings
    assert {} not in spec["paths"]["/api/me"]["get"]["security"]


def test_every_reference_resolves(spec) -> None:
    text = json.dumps(spec)
    assert "#/$defs/" not in text and "HTTPValidationError" not in text
    detail = spec["components"]["schemas"]["ErrorBody"]["properties"]["detail"]
    assert {"type": "string"} in detail["anyOf"]  # a message, or a list of field errors


def test_405_names_every_method_of_the_path(service) -> None:
    with service.client() as c:
        r = c.request("OPTIONS", "/api/session")
    assert r.status_code == 405 and r.headers["allow"] == "DELETE, POST"


@pytest.mark.parametrize(
    "path", ["/api/duty/now?at=0.5", "/api/duty/handovers?date=0", "/api/reports?since=1e9"]
)
def test_a_number_is_not_a_date_or_time(service, path: str) -> None:
    with service.client("viewer") as c:
        r = c.get(path)
        assert r.status_code == 422, r.text
        assert "not a number" in r.json()["detail"][0]["msg"]
        assert c.get("/api/duty/now?at=2026-07-14T10:00:00%2B08:00").status_code == 200
