"""``riskmap rules check``: validate rule files and run the test cases each rule ships with."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from riskmap.geo.rules.load import (
    CompiledRule,
    RuleFileError,
    evaluate_levels,
    load_file,
    rule_files,
)
from riskmap.geo.vocabulary import COLOURS


@dataclass(frozen=True)
class CheckResult:
    """One finding: a file that failed to load, or one test case of a rule (passed or not)."""

    path: Path
    rule: str | None
    line: int | None
    ok: bool
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        return f"{'ok' if self.ok else 'FAIL'} {where} rule {self.rule or '?'}: {self.message}"


def check_rules(paths: Iterable[Path]) -> list[CheckResult]:
    """Validate every rule file in ``paths`` (files or folders) and run each rule's tests.

    Nothing stops at the first problem: every file is checked and every test case run, so one
    call lists all that is wrong.

    Returns
    -------
    list of CheckResult
        A failed result per invalid file (with the rule and line of the first error), one per
        test case otherwise; ``all(r.ok for r in results)`` means the files are good.
    """
    results: list[CheckResult] = []
    try:
        files = rule_files(paths)
    except RuleFileError as exc:
        return [CheckResult(exc.path, None, None, False, exc.message)]
    ids: dict[tuple[Path, str], Path] = {}
    for f in files:
        try:
            compiled = load_file(f)
        except RuleFileError as exc:
            results.append(CheckResult(f, exc.rule, exc.line, False, exc.message))
            continue
        for c in compiled:
            key = (f.parent, c.rule.id)
            if key in ids and ids[key] != f:
                msg = f"rule id also defined in {ids[key]}"
                results.append(CheckResult(f, c.rule.id, c.line, False, msg))
                continue
            ids[key] = f
            results += run_tests(c)
    return results


def run_tests(compiled: CompiledRule) -> list[CheckResult]:
    """Run a compiled rule's test cases, one village each (absent inputs are NULL)."""
    out = []
    for case, line in zip(compiled.rule.tests, compiled.test_lines, strict=True):
        values = {
            v: np.array([np.nan if case.inputs.get(v) is None else case.inputs[v]], dtype=float)
            for v in compiled.variables
        }
        rank = int(evaluate_levels(compiled, values, np.array([True]))[0])
        got = COLOURS[rank] if rank >= 0 else "none"
        ok = got == case.expect
        msg = f"test {case.name!r}: " + ("passed" if ok else f"expected {case.expect}, got {got}")
        out.append(CheckResult(compiled.path, compiled.rule.id, line, ok, msg))
    return out
