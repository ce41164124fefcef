"""``riskmap plans check``: validate plan files and run the test cases each plan ships with."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from riskmap.geo.plans.load import (
    CompiledPlan,
    PlanFileError,
    evaluate_levels,
    load_file,
    plan_files,
)
from riskmap.geo.plans.model import LEVELS
from riskmap.geo.plans.variables import NAMES


@dataclass(frozen=True)
class CheckResult:
    """One finding: a file that failed to load, or one test case of a plan (passed or not)."""

    path: Path
    plan: str | None
    line: int | None
    ok: bool
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        return f"{'ok' if self.ok else 'FAIL'} {where}: plan {self.plan or '?'}: {self.message}"


def check_plans(paths: Iterable[Path]) -> list[CheckResult]:
    """Validate every plan file in ``paths`` (files or folders) and run each plan's tests.

    Every file is checked and every test run, so one call lists all that is wrong;
    ``all(r.ok for r in results)`` means the files are good.
    """
    try:
        files = plan_files(paths)
    except PlanFileError as exc:
        return [CheckResult(exc.path, None, None, False, exc.message)]
    results: list[CheckResult] = []
    ids: dict[tuple[Path, str], Path] = {}
    for f in files:
        try:
            compiled = load_file(f)
        except PlanFileError as exc:
            results.append(CheckResult(f, exc.plan, exc.line, False, exc.message))
            continue
        for c in compiled:
            key = (f.parent, c.id)
            if key in ids and ids[key] != f:
                msg = f"plan id also defined in {ids[key]}"
                results.append(CheckResult(f, c.id, c.line, False, msg))
                continue
            ids[key] = f
            results += run_tests(c)
    return results


def run_tests(compiled: CompiledPlan) -> list[CheckResult]:
    """Run a compiled plan's test cases, one county each (absent variables are 0)."""
    out = []
    for case, line in zip(compiled.plan.tests, compiled.test_lines, strict=True):
        values = {v: np.array([float(case.given.get(v, 0.0))]) for v in NAMES}
        rank = int(evaluate_levels(compiled, values, 1)[0])
        got = LEVELS[rank] if rank >= 0 else "none"
        ok = got == case.expect
        msg = f"test {case.name!r}: " + ("passed" if ok else f"expected {case.expect}, got {got}")
        out.append(CheckResult(compiled.path, compiled.id, line, ok, msg))
    return out
