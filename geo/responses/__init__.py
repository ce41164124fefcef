"""Emergency responses (应急响应 Ⅰ–Ⅳ) under the plans of :mod:`riskmap.geo.plans`.

:func:`evaluate_plans` runs after each rules cycle and proposes starting or raising responses;
commanders act through :mod:`.actions` (start, change_level, end, accept, dismiss); tasks are
made, assigned to the people on duty, told by SMS and tracked by :mod:`.tasks`; :mod:`.queries`
reads them back. Every step appends to the response's timeline (``response_event``), which is
also its audit log and the source of the ``response`` live events.

The names are imported on first use (:mod:`riskmap.geo.lazy`): the API reads responses and acts
on them, and should not load the plans' evaluation (numpy, the expression language) for it.
"""

from typing import TYPE_CHECKING

from riskmap.geo.lazy import lazy_exports

if TYPE_CHECKING:
    from riskmap.geo.responses.engine import Evaluation, Proposed, evaluate_plans
    from riskmap.geo.responses.queries import get_response, list_responses
    from riskmap.geo.responses.tasks import flag_overdue, update_task

__all__ = [
    "Evaluation",
    "Proposed",
    "evaluate_plans",
    "flag_overdue",
    "get_response",
    "list_responses",
    "update_task",
]
__getattr__ = lazy_exports(
    __name__,
    {
        "Evaluation": ".engine",
        "Proposed": ".engine",
        "evaluate_plans": ".engine",
        "get_response": ".queries",
        "list_responses": ".queries",
        "flag_overdue": ".tasks",
        "update_task": ".tasks",
    },
)
