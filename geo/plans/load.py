"""Reading plan files into compiled plans, with errors naming the file, plan and line.

The built-in plans (``geo/plans/builtin``) come first; a site folder's plan with the same id
replaces the built-in one (as the rules' site folder does). Two plans with one id in the same
folder are an error. Conditions compile with the rules' expression language
(:mod:`riskmap.geo.rules.expr`) over the fixed county variables.
"""

from __future__ import annotations

import string
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from riskmap.geo.errors import DataError
from riskmap.geo.plans.model import LEVELS, Plan, PlanFile
from riskmap.geo.plans.variables import NAMES
from riskmap.geo.rules.expr import Expression, ExpressionError, compile_expression
from riskmap.geo.rules.yamldoc import ContentCache, merge_groups, read_document, yaml_files
from riskmap.geo.rules.yamlload import LineDict, line_of

BUILTIN_DIR = Path(__file__).parent / "builtin"
PLACEHOLDERS = frozenset({"county", "plan", "level", "township", "villages", "n_villages"})


class PlanFileError(DataError):
    """A plan file is invalid: ``path``, ``plan`` (id, or None) and 1-based ``line``."""

    def __init__(self, path: Path, plan: str | None, line: int | None, message: str) -> None:
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: plan {plan or '?'}: {message}")
        self.path, self.plan, self.line, self.message = path, plan, line, message


@dataclass(frozen=True)
class CompiledPlan:
    """A validated plan with its level conditions compiled (low → high)."""

    plan: Plan
    path: Path
    line: int
    conditions: dict[str, Expression]
    test_lines: tuple[int, ...]

    @property
    def id(self) -> str:
        return self.plan.id


_COMPILED: ContentCache[CompiledPlan] = ContentCache()


def plan_files(paths: Iterable[Path]) -> list[Path]:
    """The ``*.yaml`` / ``*.yml`` files of ``paths`` (folders expanded, sorted by name)."""
    return yaml_files(paths, PlanFileError)


def load_file(path: Path) -> list[CompiledPlan]:
    """Parse, validate and compile every plan of one file; a file read before with the same
    bytes gives the plans compiled then (every rules cycle reads the plans).

    Raises
    ------
    PlanFileError
        On the first problem, naming the file, plan and line.
    """
    return _COMPILED.load(path, _load_file)


def _load_file(path: Path) -> list[CompiledPlan]:
    raw, parsed = read_document(path, PlanFile, "plans", PlanFileError)
    out, seen = [], set()
    for i, plan in enumerate(parsed.plans):
        node = raw["plans"][i]
        if plan.id in seen:
            raise PlanFileError(path, plan.id, node.line, "duplicate plan id in this file")
        seen.add(plan.id)
        out.append(_compile(plan, path, node))
    return out


def load_plans(paths: Iterable[Path], *, include_builtin: bool = True) -> list[CompiledPlan]:
    """Built-in plans (optionally) then those in ``paths``; a later plan replaces an earlier
    one with the same id (site folders override the built-in plans).

    Raises
    ------
    PlanFileError
        A file is invalid, or one folder defines an id twice.
    """
    groups = ([BUILTIN_DIR] if include_builtin else []) + [Path(p) for p in paths]
    return merge_groups(groups, load_file, PlanFileError, "plan")


def evaluate_levels(compiled: CompiledPlan, values: dict[str, np.ndarray], n: int) -> np.ndarray:
    """Index into :data:`LEVELS` of the highest level whose condition holds per county
    (0 Ⅳ … 3 Ⅰ), -1 where none does."""
    out = np.full(n, -1, dtype=np.int8)
    for key, cond in compiled.conditions.items():  # low → high: the highest that holds wins
        out[cond.holds(values, n)] = LEVELS.index(key)
    return out


def _compile(plan: Plan, path: Path, node: LineDict) -> CompiledPlan:
    def fail(message: str, *keys: str | int) -> PlanFileError:
        return PlanFileError(path, plan.id, line_of(node, tuple(keys)) or node.line, message)

    conditions: dict[str, Expression] = {}
    for key, level in plan.levels.items():
        try:
            conditions[key] = compile_expression(level.when, NAMES)
        except ExpressionError as exc:
            base = line_of(node, ("levels", key, "when"), value=True) or node.line
            raise PlanFileError(
                path, plan.id, base + exc.line - 1, f"level {key}: {exc.message} (column {exc.col})"
            ) from exc
        for i, task in enumerate(level.tasks):
            for field in ("zh", "en"):
                tpl = string.Template(getattr(task, field))
                keys = ("levels", key, "tasks", i, field)
                if not tpl.is_valid():
                    raise fail(f"level {key} task {i} {field}: invalid placeholder syntax", *keys)
                unknown = set(tpl.get_identifiers()) - PLACEHOLDERS
                if not task.who.startswith("township.") and "township" in tpl.get_identifiers():
                    unknown.add("township (only township tasks have one)")
                if unknown:
                    raise fail(
                        f"level {key} task {i} {field}: unknown placeholder(s)"
                        f" {', '.join(sorted(unknown))} (known: {', '.join(sorted(PLACEHOLDERS))})",
                        *keys,
                    )
    for i, case in enumerate(plan.tests):
        unknown = set(case.given) - NAMES
        if unknown:
            raise fail(
                f"test {case.name!r}: unknown variable(s) {', '.join(sorted(unknown))}"
                " (see `riskmap plans variables`)",
                "tests", i, "given",
            )  # fmt: skip
    return CompiledPlan(
        plan=plan,
        path=path,
        line=node.line,
        conditions=conditions,
        test_lines=tuple(line_of(node, ("tests", i)) or node.line for i in range(len(plan.tests))),
    )
