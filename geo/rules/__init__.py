"""Rules as data: YAML rule files, a safe expression language, vectorised evaluation.

``run_rules`` evaluates the built-in and site rules at a time and returns warning proposals;
``check_rules`` validates rule files and runs the test cases each rule ships with.
"""

from riskmap.geo.rules.check import CheckResult, check_rules
from riskmap.geo.rules.engine import run_rules
from riskmap.geo.rules.load import BUILTIN_DIR, RuleFileError, load_rules

__all__ = ["BUILTIN_DIR", "CheckResult", "RuleFileError", "check_rules", "load_rules", "run_rules"]
