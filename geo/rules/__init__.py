"""Rules as data: YAML rule files, a safe expression language, vectorised evaluation.

``run_rules`` evaluates the built-in and site rules at a time and returns warning proposals;
``check_rules`` validates rule files and runs the test cases each rule ships with.

The names are imported on first use (:mod:`riskmap.geo.lazy`), so that importing one small
part (the plans' expression language, the rule model) does not load the engine.
"""

from typing import TYPE_CHECKING

from riskmap.geo.lazy import lazy_exports

if TYPE_CHECKING:
    from riskmap.geo.rules.check import CheckResult, check_rules
    from riskmap.geo.rules.engine import run_rules
    from riskmap.geo.rules.load import BUILTIN_DIR, RuleFileError, load_rules

__all__ = ["BUILTIN_DIR", "CheckResult", "RuleFileError", "check_rules", "load_rules", "run_rules"]
__getattr__ = lazy_exports(
    __name__,
    {
        "CheckResult": ".check",
        "check_rules": ".check",
        "run_rules": ".engine",
        "BUILTIN_DIR": ".load",
        "RuleFileError": ".load",
        "load_rules": ".load",
    },
)
