"""``riskmap rules run``: evaluate every rule over all villages at once and propose warnings.

Inputs are gathered once per distinct spec (a handful of SQL queries in all), each rule's
conditions are evaluated as numpy arrays over the villages, the highest level that holds wins per
village, and the villages are grouped into one :class:`Proposal` per (rule, level) with the
numbers that fired it for each village and texts rendered from those numbers
(:mod:`riskmap.geo.rules.render`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

import numpy as np
import psycopg

from riskmap.geo.rules.evidence import EvidenceTable, rounded3_array
from riskmap.geo.rules.inputs import InputValues, gather
from riskmap.geo.rules.load import CompiledRule, evaluate_levels, load_rules
from riskmap.geo.rules.render import TextRenderer
from riskmap.geo.rules.villages import Villages, fetch_villages
from riskmap.geo.vocabulary import COLOURS
from riskmap.geo.warnings.proposal import Proposal


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
    """``[None if x is NaN else round(x, 3)]``, bit for bit Python's ``round``, vectorised
    (:func:`riskmap.geo.rules.evidence.rounded3_array`)."""
    return [None if x != x else x for x in rounded3_array(values).tolist()]


def _proposal(compiled, colour, level, idx, numbers, labels, villages, at) -> Proposal:
    rule = compiled.rule
    # the evidence stays in columns (every variable: the texts quote a village's own numbers);
    # a village's dict is made when asked for (riskmap.geo.rules.evidence)
    codes = villages.codes[idx].tolist()
    evidence = EvidenceTable(
        codes,
        idx,
        villages,
        {v: rounded3_array(numbers[v][idx]) for v in compiled.variables},
        {k: a[idx] for k, a in labels.items()},
        compiled.conditions[colour].text,
        colour,
    )
    render = TextRenderer(compiled, colour, villages, at)
    text = render.table(evidence)
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
