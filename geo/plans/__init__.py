"""Emergency plans as data (应急预案): YAML files saying which response level (Ⅳ–Ⅰ) a county's
situation calls for and which tasks each level starts.

``load_plans`` reads the built-in and site plans; ``check_plans`` validates plan files and runs
their test cases; ``compute_variables`` gives the county variables conditions read. Responses
themselves (proposals, actions, tasks) live in :mod:`riskmap.geo.responses`.

The names are imported on first use (:mod:`riskmap.geo.lazy`): the API's responses read
:mod:`.model` only, and should not pay for the checker, the expression language and numpy.
"""

from typing import TYPE_CHECKING

from riskmap.geo.lazy import lazy_exports

if TYPE_CHECKING:
    from riskmap.geo.plans.check import CheckResult, check_plans
    from riskmap.geo.plans.load import BUILTIN_DIR, CompiledPlan, PlanFileError, load_plans
    from riskmap.geo.plans.variables import VARIABLES, compute_variables

__all__ = [
    "BUILTIN_DIR",
    "VARIABLES",
    "CheckResult",
    "CompiledPlan",
    "PlanFileError",
    "check_plans",
    "compute_variables",
    "load_plans",
]
__getattr__ = lazy_exports(
    __name__,
    {
        "CheckResult": ".check",
        "check_plans": ".check",
        "BUILTIN_DIR": ".load",
        "CompiledPlan": ".load",
        "PlanFileError": ".load",
        "load_plans": ".load",
        "VARIABLES": ".variables",
        "compute_variables": ".variables",
    },
)
