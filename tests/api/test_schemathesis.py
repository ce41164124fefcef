"""Property-based checks of every operation in the live server's /openapi.json (schemathesis 4):
whatever schema-valid (and some invalid) input is sent, no answer is a 5xx.

The schema is read from the running server at test time, so routes added later are covered
without touching this file. Calls carry a viewer token: protected reads run their real code,
write actions answer 403 and leave the shared database alone.

Left out: ``GET /api/events``. It is an endless Server-Sent Events stream by design, and
schemathesis reads each response to its end, so a call would never return; its validation
(401/422 before streaming) and its events are tested in ``tests/api/test_events.py``.
"""

from __future__ import annotations

import time

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.result import Err

MAX_EXAMPLES = 10  # per operation and mode: the whole run stays well under two minutes
LEFT_OUT = "/api/events"


def test_no_operation_answers_with_a_server_error(service) -> None:
    # schemathesis' pytest integration (``from_fixture``) does not work with pytest 9 (it reads
    # the removed ``Item._nodeid``), so the operations are driven through its Python API: one
    # Hypothesis run per operation and generation mode, collecting every 5xx rather than
    # stopping (and shrinking) at the first.
    schema = schemathesis.openapi.from_url(f"{service.base_url}/openapi.json")
    headers = {"Authorization": f"Bearer {service.tokens['viewer']}"}
    failures: list[str] = []
    tested: list[str] = []
    started = time.monotonic()
    for result in schema.exclude(path=LEFT_OUT).get_all_operations():
        if isinstance(result, Err):
            failures.append(f"unusable operation in the schema: {result.err()}")
            continue
        operation = result.ok()
        tested.append(operation.label)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _exercise(operation, mode, service.base_url, headers, failures)
    assert len(tested) >= 3 and "GET /healthz" in tested, tested
    assert not [t for t in tested if LEFT_OUT in t]
    assert not failures, "\n\n".join(failures)
    assert time.monotonic() - started < 120


def _exercise(operation, mode, base_url: str, headers: dict, failures: list[str]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case) -> None:
        response = case.call(base_url=base_url, headers=headers, timeout=30)
        try:
            case.validate_response(response, checks=[not_a_server_error])
        except (Failure, FailureGroup) as exc:
            failures.append(
                f"{operation.label} [{mode.value}] → {response.status_code}: {exc}\n"
                f"  {case.as_curl_command(headers=headers)}"
            )

    try:
        run()
    except Unsatisfiable:
        # an operation without parameters or body has no invalid input to make
        assert mode is GenerationMode.NEGATIVE, operation.label
