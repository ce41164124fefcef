"""Reading rule files into compiled rules, with errors naming the file, rule and line.

The built-in rules (``geo/rules/builtin``) come first; a site folder's rule with the same id
replaces the built-in one. Two rules with one id in the same folder are an error.
"""

from __future__ import annotations

import string
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from riskmap.geo.errors import DataError
from riskmap.geo.rules.expr import Expression, ExpressionError, compile_expression
from riskmap.geo.rules.model import Rule, RuleFile, Templates
from riskmap.geo.rules.yamldoc import ContentCache, merge_groups, read_document, yaml_files
from riskmap.geo.rules.yamlload import LineDict, line_of
from riskmap.geo.vocabulary import COLOURS

#: A compiled text: sentences, each a tuple of alternative templates.
Text = tuple[tuple[str, ...], ...]

BUILTIN_DIR = Path(__file__).parent / "builtin"
FIXED_PLACEHOLDERS = frozenset(
    {
        "county", "villages", "n_villages", "n_villages_en", "level_zh", "level_en", "title_zh",
        "title_en", "worst_village", "worst_zh", "worst_en", "at_zh", "at_en",
        *(f"n_{c}" for c in COLOURS), *(f"n_{c}_en" for c in COLOURS),
    }
)  # fmt: skip
TRIGGER_PLACEHOLDERS = frozenset({"village", "value", "threshold"})
TEMPLATE_FIELDS = tuple(Templates.model_fields)
_COMPILED: ContentCache[CompiledRule] = ContentCache()


class RuleFileError(DataError):
    """A rule file is invalid: ``path``, ``rule`` (id, or None) and 1-based ``line``."""

    def __init__(self, path: Path, rule: str | None, line: int | None, message: str) -> None:
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: rule {rule or '?'}: {message}")
        self.path, self.rule, self.line, self.message = path, rule, line, message


@dataclass(frozen=True)
class CompiledRule:
    """A validated rule with its expressions compiled and its variables listed."""

    rule: Rule
    path: Path
    line: int
    variables: tuple[str, ...]  # numeric variables the inputs provide
    labels: tuple[str, ...]  # text variables (evidence only)
    scope_where: Expression | None
    conditions: dict[str, Expression]  # colour → condition, low → high
    templates: dict[str, dict[str, Text]]  # colour → field → sentences (merged)
    worst_by: Expression | None  # orders the villages a text quotes first
    test_lines: tuple[int, ...]  # line of each test case

    @property
    def id(self) -> str:
        return self.rule.id


def rule_files(paths: Iterable[Path]) -> list[Path]:
    """The ``*.yaml`` / ``*.yml`` files of ``paths`` (folders expanded, sorted by name)."""
    return yaml_files(paths, RuleFileError)


def load_file(path: Path) -> list[CompiledRule]:
    """Parse, validate and compile every rule of one file; a file read before with the same
    bytes gives the rules compiled then (parsing the built-in rules' YAML takes ~0.3 s; rules
    are immutable, so they are shared).

    Raises
    ------
    RuleFileError
        On the first problem, naming the file, rule and line.
    """
    return _COMPILED.load(path, _load_file)


def _load_file(path: Path) -> list[CompiledRule]:
    raw, parsed = read_document(path, RuleFile, "rules", RuleFileError)
    out, seen = [], set()
    for i, rule in enumerate(parsed.rules):
        node = raw["rules"][i]
        if rule.id in seen:
            raise RuleFileError(path, rule.id, node.line, "duplicate rule id in this file")
        seen.add(rule.id)
        out.append(_compile(rule, path, node))
    return out


def load_rules(paths: Iterable[Path], *, include_builtin: bool = True) -> list[CompiledRule]:
    """Built-in rules (optionally) then those in ``paths``; a later rule replaces an earlier one
    with the same id (site folders override the built-in rules).

    Raises
    ------
    RuleFileError
        A file is invalid, or one folder defines an id twice.
    """
    groups = ([BUILTIN_DIR] if include_builtin else []) + [Path(p) for p in paths]
    return merge_groups(groups, load_file, RuleFileError, "rule")


def _node_line(node: object, *keys: str | int) -> int | None:
    return line_of(node, tuple(keys))


def _compile(rule: Rule, path: Path, node: LineDict) -> CompiledRule:
    def fail(message: str, *keys: str | int) -> RuleFileError:
        return RuleFileError(path, rule.id, _node_line(node, *keys), message)

    variables: list[str] = []
    labels: list[str] = []
    for name, spec in rule.inputs.items():
        for suffix in spec.OUTPUTS:
            variables.append(name + suffix)
        labels += [name + s for s in spec.LABELS]
    dupes = {v for v in variables + labels if (variables + labels).count(v) > 1}
    if dupes:
        raise fail(f"inputs give the same variable twice: {', '.join(sorted(dupes))}", "inputs")
    names = frozenset(variables)

    def expression(text: str, *keys: str | int) -> Expression:
        try:
            return compile_expression(text, names)
        except ExpressionError as exc:
            base = line_of(node, keys, value=True) or node.line
            raise RuleFileError(
                path, rule.id, base + exc.line - 1, f"{exc.message} (column {exc.col})"
            ) from exc

    scope_where = (
        expression(rule.scope.where, "scope", "where") if rule.scope.where is not None else None
    )
    conditions = {c: expression(lv.when, "levels", c, "when") for c, lv in rule.levels.items()}

    worst_by = expression(rule.worst_by, "worst_by") if rule.worst_by is not None else None
    per_village = names | frozenset(labels)
    allowed = FIXED_PLACEHOLDERS | per_village | {f"total_{v}" for v in variables}
    # a distance input also gives where its object is relative to the worst village (render.py)
    allowed |= {f"{v}_where_{z}" for v in variables if v.endswith("_km") for z in ("zh", "en")}
    sites = frozenset(f"{lb}_site" for lb in labels if lb.endswith("_station_name"))  # 站 once
    allowed |= sites

    def check_placeholders(text: str, known: frozenset[str], what: str, *keys) -> None:
        tpl = string.Template(text)
        if not tpl.is_valid():
            raise fail(f"{what}: invalid placeholder syntax", *keys)
        unknown = set(tpl.get_identifiers()) - known
        if unknown:
            raise fail(
                f"{what}: unknown placeholder(s) {', '.join(sorted(unknown))} "
                f"(known: {', '.join(sorted(known))})",
                *keys,
            )

    for i, trig in enumerate(rule.triggers):
        for ref in (trig.value, trig.threshold):
            if isinstance(ref, str) and ref not in names:
                raise fail(f"trigger {i}: {ref} is not a variable of the inputs", "triggers", i)
        for field in ("zh", "en"):
            for text in _sentences([getattr(trig, field)])[0]:
                known = TRIGGER_PLACEHOLDERS | per_village | sites
                check_placeholders(text, known, f"trigger {i} {field}", "triggers", i, field)

    templates: dict[str, dict[str, Text]] = {}
    for colour, level in rule.levels.items():
        merged = {}
        for field in TEMPLATE_FIELDS:
            text = getattr(level.templates, field) or getattr(rule.templates, field)
            keys = ("levels", colour, "templates", field)
            if getattr(level.templates, field) is None:
                keys = ("templates", field)
            if text is None and field.startswith("event_"):
                text = getattr(rule, field).replace("$", "$$")
            if text is None:
                raise fail(f"level {colour}: no template {field} (set it on the rule or level)")
            sentences = _sentences(text)
            for alternatives in sentences:
                for alt in alternatives:
                    check_placeholders(alt, allowed, f"template {field}", *keys)
            merged[field] = sentences
        templates[colour] = merged

    for i, case in enumerate(rule.tests):
        unknown = set(case.inputs) - names
        if unknown:
            raise fail(
                f"test {case.name!r}: unknown input(s) {', '.join(sorted(unknown))}",
                "tests", i, "inputs",
            )  # fmt: skip
    return CompiledRule(
        rule=rule,
        path=path,
        line=node.line,
        variables=tuple(variables),
        labels=tuple(labels),
        scope_where=scope_where,
        conditions=conditions,
        templates=templates,
        worst_by=worst_by,
        test_lines=tuple(_node_line(node, "tests", i) or node.line for i in range(len(rule.tests))),
    )


def _sentences(text: str | list) -> Text:
    """A template field as sentences of alternatives (see ``model.Sentence``)."""
    if isinstance(text, str):
        return ((text,),)
    return tuple((s,) if isinstance(s, str) else tuple(s) for s in text)


def evaluate_levels(
    compiled: CompiledRule, values: dict[str, np.ndarray], in_scope: np.ndarray
) -> np.ndarray:
    """Rank of the highest level whose condition holds per village (0 blue … 3 red), -1 none.

    ``in_scope`` (bool) masks villages outside the rule's code scope; the ``where`` scope is
    applied here.
    """
    n = len(in_scope)
    mask = in_scope.copy()
    if compiled.scope_where is not None:
        mask &= compiled.scope_where.holds(values, n)
    out = np.full(n, -1, dtype=np.int8)
    for colour, cond in compiled.conditions.items():  # low → high: the highest that holds wins
        out[mask & cond.holds(values, n)] = COLOURS.index(colour)
    return out
