"""Frozen copy of geo/rules/engine.py before issue 19's columnar engine (commit c7a6138): the oracle
tests/geo/test_rules_columnar.py compares the engine against. Not used by the product."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

import numpy as np
import psycopg

from riskmap.geo.rules.load import CompiledRule, evaluate_levels, load_rules
from riskmap.geo.vocabulary import COLOURS
from riskmap.geo.warnings.proposal import Proposal
from tests.geo.rules_oracle.inputs import InputValues, gather
from tests.geo.rules_oracle.render import TextRenderer
from tests.geo.rules_oracle.villages import Villages, fetch_villages


def run_rules(
    conn: psycopg.Connection,
    at: datetime,
    rule_dirs: Iterable[Path] = (),
    *,
    include_builtin: bool = True,
) -> list[Proposal]:
    """Evaluate the built-in rules and those in ``rule_dirs`` at time ``at``.

    Parameters
    ----------
    conn
        Connection to the riskmap database (only read).
    at
        Evaluation time, timezone-aware: now, or a past time to replay.
    rule_dirs
        Site rule folders (``RISKMAP_RULES_DIR``); a rule there replaces the built-in rule with
        the same id.
    include_builtin
        Read the built-in rules first (default).

    Returns
    -------
    list of Proposal
        One per rule and level that fired, with the villages and per-village evidence.
    """
    rules = load_rules(rule_dirs, include_builtin=include_builtin)
    villages = fetch_villages(conn)
    specs = [spec for r in rules for spec in r.rule.inputs.values()]
    fetched = gather(conn, at, specs, villages)
    out: list[Proposal] = []
    for compiled in rules:
        out += evaluate_rule(compiled, fetched, villages, at)
    return out


def rule_values(
    compiled: CompiledRule, fetched: dict[object, InputValues]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The rule's variables (numeric) and labels named as the rule names them."""
    numbers, labels = {}, {}
    for name, spec in compiled.rule.inputs.items():
        got = fetched[spec]
        numbers.update({name + s: a for s, a in got.numbers.items()})
        labels.update({name + s: a for s, a in got.labels.items()})
    return numbers, labels


def evaluate_rule(
    compiled: CompiledRule,
    fetched: dict[object, InputValues],
    villages: Villages,
    at: datetime,
) -> list[Proposal]:
    """Proposals of one rule from gathered inputs (one per level that fired)."""
    numbers, labels = rule_values(compiled, fetched)
    in_scope = _code_scope(compiled, villages)
    ranks = evaluate_levels(compiled, numbers, in_scope)
    out = []
    for colour, level in compiled.rule.levels.items():
        idx = np.flatnonzero(ranks == COLOURS.index(colour))
        if len(idx):
            out.append(_proposal(compiled, colour, level, idx, numbers, labels, villages, at))
    return out


def _code_scope(compiled: CompiledRule, villages: Villages) -> np.ndarray:
    codes = compiled.rule.scope.codes
    if not codes:
        return np.ones(len(villages), dtype=bool)
    return np.char.startswith(villages.codes.astype(str)[:, None], np.array(codes)).any(axis=1)


def rounded3(values: np.ndarray) -> list[float | None]:
    """``[None if x is NaN else round(x, 3)]``, bit for bit Python's ``round``, vectorised.

    ``rint(x·1000) / 1000`` is Python's result whenever ``x·1000`` rounds to the same integer
    as the exact product does (the division by 1000 is then correctly rounded in both): true
    unless the float product lies within an ulp of a half-integer, and those few (and the
    non-finite and huge) take Python's ``round``. 1.5 million calls of ``round`` cost ~0.4 s."""
    x = np.asarray(values, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = x * 1000.0
        near_half = np.abs(scaled - np.floor(scaled) - 0.5) <= np.abs(np.spacing(scaled))
        slow = ~np.isfinite(scaled) | (np.abs(scaled) >= 2.0**52) | near_half
    out = (np.rint(scaled) / 1000.0).tolist()
    for i in np.flatnonzero(slow).tolist():
        v = float(x[i])
        out[i] = None if v != v else round(v, 3)
    return out


def _proposal(compiled, colour, level, idx, numbers, labels, villages, at) -> Proposal:
    rule = compiled.rule
    cond = compiled.conditions[colour]
    # plain Python values column by column: numpy scalars one village at a time cost seconds
    # at 500,000 villages; every variable is kept (the texts quote a village's own numbers)
    keys = [*compiled.variables, *labels]
    columns = [rounded3(numbers[v][idx]) for v in compiled.variables] + [
        [None if x is None else str(x) for x in a[idx].tolist()] for a in labels.values()
    ]
    codes = villages.codes[idx].tolist()
    evidence: dict[str, dict[str, float | str]] = {}
    rows = zip(*columns, strict=True) if columns else [()] * len(codes)
    for code, row in zip(codes, rows, strict=True):
        ev: dict[str, float | str] = {k: x for k, x in zip(keys, row, strict=True) if x is not None}
        ev["condition"] = cond.text
        ev["level"] = colour
        evidence[code] = ev
    render = TextRenderer(compiled, colour, villages, at)
    text = render(codes, evidence)
    extra = {"rule_file": str(compiled.path)}
    if level.response is not None:
        extra["response_type"] = level.response
    return Proposal(
        rule_id=rule.id,
        rule_version=rule.version,
        hazard=rule.hazard,
        colour=colour,
        at=at,
        village_codes=tuple(codes),
        evidence=evidence,
        category=rule.category,
        urgency=level.urgency,
        severity=level.severity,
        certainty=level.certainty,
        review=level.review or rule.review,
        hold_hours=rule.hold_hours,
        action=level.action,
        extra=extra,
        render=render,
        **text,
    )
