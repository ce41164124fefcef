"""The safe expression language of rule conditions, compiled to vectorised numpy operations.

An expression is parsed with Python's :mod:`ast` and only a whitelisted subset of node types is
accepted: numbers, ``True``/``False``/``None``, names of the rule's inputs, arithmetic
(``+ - * / %`` and unary minus), comparisons (chains allowed), ``and``/``or``/``not`` and calls
of ``min``, ``max``, ``abs``, ``is_null`` and ``coalesce``. Everything else - attributes,
subscripts, other calls, lambdas, strings, comprehensions - is rejected with the column where it
starts. Nothing is ever passed to ``eval``.

Values are float arrays over villages with NaN as NULL, and logic is three-valued as in SQL:
a comparison with a NULL side is NULL, ``NULL and False`` is False, ``NULL or True`` is True,
``not NULL`` is NULL, and a condition holds only where it is true (NULL → does not fire).
``min``/``max`` ignore NULLs like PostgreSQL's LEAST/GREATEST; division by zero gives NULL.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from riskmap.geo.errors import DataError

Value = np.ndarray | float
Compiled = Callable[[Mapping[str, np.ndarray]], Value]

FUNCTIONS = ("min", "max", "abs", "is_null", "coalesce")


class ExpressionError(DataError):
    """An expression uses something outside the language; ``line``/``col`` are 1-based."""

    def __init__(self, message: str, line: int = 1, col: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.col = col


@dataclass(frozen=True)
class Expression:
    """A compiled expression: its text, the names it reads and the function computing it."""

    text: str
    names: frozenset[str]
    fn: Compiled

    def evaluate(self, values: Mapping[str, np.ndarray], n: int) -> np.ndarray:
        """Value per village (float array of length ``n``; NaN is NULL)."""
        with np.errstate(all="ignore"):
            out = np.asarray(self.fn(values), dtype=float)
        return np.broadcast_to(out, (n,)).copy() if out.shape != (n,) else out

    def holds(self, values: Mapping[str, np.ndarray], n: int) -> np.ndarray:
        """Where the condition is true (bool array; NULL and false both give False)."""
        return _truth(self.evaluate(values, n)) == 1.0


def compile_expression(text: str, names: frozenset[str] | set[str]) -> Expression:
    """Parse ``text`` and build its numpy evaluator over the input ``names``.

    Parameters
    ----------
    text
        The condition or value expression as written in the rule file.
    names
        The variables the rule's inputs provide; any other name is an error.

    Raises
    ------
    ExpressionError
        Syntax error, a construct outside the whitelist or an unknown name, with its position.
    """
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("the expression is empty")
    body = text.strip()
    try:  # wrapped in parentheses on their own lines: YAML folds may span lines
        tree = ast.parse(f"(\n{body}\n)", mode="eval")
        used: set[str] = set()
        fn = _Compiler(frozenset(names), used).visit(tree.body)
    except SyntaxError as exc:
        line = min(max((exc.lineno or 2) - 1, 1), body.count("\n") + 1)
        raise ExpressionError(f"syntax error: {exc.msg}", line, exc.offset or 1) from exc
    except (RecursionError, MemoryError) as exc:  # Python's parser gives up on deep nesting
        raise ExpressionError("the expression is nested too deeply") from exc
    return Expression(text=body, names=frozenset(used), fn=fn)


def _isnull(x: Value) -> np.ndarray:
    return np.isnan(np.asarray(x, dtype=float))


def _truth(x: Value) -> np.ndarray:
    """Three-valued truth of a value: 1.0, 0.0 or NaN (a non-zero number counts as true)."""
    a = np.asarray(x, dtype=float)
    return np.where(np.isnan(a), np.nan, (a != 0).astype(float))


def _and(a: Value, b: Value) -> np.ndarray:
    ta, tb = _truth(a), _truth(b)
    false = (ta == 0) | (tb == 0)
    true = (ta == 1) & (tb == 1)
    return np.where(false, 0.0, np.where(true, 1.0, np.nan))


def _or(a: Value, b: Value) -> np.ndarray:
    ta, tb = _truth(a), _truth(b)
    true = (ta == 1) | (tb == 1)
    false = (ta == 0) & (tb == 0)
    return np.where(true, 1.0, np.where(false, 0.0, np.nan))


def _compare(op: Callable, a: Value, b: Value) -> np.ndarray:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.where(np.isnan(a) | np.isnan(b), np.nan, op(a, b).astype(float))


def _divide(a: Value, b: Value) -> np.ndarray:
    out = np.true_divide(a, b)
    return np.where(np.isfinite(out), out, np.nan)


def _mod(a: Value, b: Value) -> np.ndarray:
    out = np.mod(a, b)
    return np.where(np.isfinite(out), out, np.nan)


def _coalesce(*args: Value) -> np.ndarray:
    out = np.asarray(args[-1], dtype=float)
    for a in reversed(args[:-1]):
        a = np.asarray(a, dtype=float)
        out = np.where(np.isnan(a), out, a)
    return out


def _reduce(fn: Callable, *args: Value) -> np.ndarray:
    out = np.asarray(args[0], dtype=float)
    for a in args[1:]:
        out = fn(out, np.asarray(a, dtype=float))  # fmin/fmax: NaN only if both are NaN
    return out


_BINARY: dict[type, Callable] = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Div: _divide,
    ast.Mod: _mod,
}
_COMPARE: dict[type, Callable] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
_CALLS: dict[str, tuple[Callable, int, int | None]] = {  # name: (fn, min args, max args)
    "min": (lambda *a: _reduce(np.fmin, *a), 2, None),
    "max": (lambda *a: _reduce(np.fmax, *a), 2, None),
    "abs": (lambda a: np.abs(np.asarray(a, dtype=float)), 1, 1),
    "is_null": (lambda a: _isnull(a).astype(float), 1, 1),
    "coalesce": (_coalesce, 2, None),
}


class _Compiler:
    """Walks the whitelisted AST and returns closures; any other node raises."""

    def __init__(self, names: frozenset[str], used: set[str]) -> None:
        self.names = names
        self.used = used

    def fail(self, node: ast.AST, message: str) -> ExpressionError:
        line = max(getattr(node, "lineno", 2) - 1, 1)  # the source is wrapped: see above
        return ExpressionError(message, line, getattr(node, "col_offset", 0) + 1)

    def visit(self, node: ast.AST) -> Compiled:
        method = getattr(self, "visit_" + type(node).__name__.lower(), None)
        if method is None:
            raise self.fail(node, f"{type(node).__name__} is not allowed in rule expressions")
        return method(node)

    def visit_constant(self, node: ast.Constant) -> Compiled:
        v = node.value
        if v is None:
            return lambda _: np.nan
        if isinstance(v, bool | int | float) and not isinstance(v, complex):
            value = float(v)
            return lambda _: value
        raise self.fail(node, f"constant {v!r} is not a number (strings are not allowed)")

    def visit_name(self, node: ast.Name) -> Compiled:
        name = node.id
        if name.startswith("_"):
            raise self.fail(node, f"name {name!r} is not allowed (no leading underscore)")
        if name not in self.names:
            known = ", ".join(sorted(self.names)) or "none"
            raise self.fail(node, f"unknown name {name!r} (inputs: {known})")
        self.used.add(name)
        return lambda v: v[name]

    def visit_unaryop(self, node: ast.UnaryOp) -> Compiled:
        inner = self.visit(node.operand)
        if isinstance(node.op, ast.Not):
            return lambda v: 1.0 - _truth(inner(v))
        if isinstance(node.op, ast.USub):
            return lambda v: np.negative(inner(v))
        if isinstance(node.op, ast.UAdd):
            return inner
        raise self.fail(node, f"operator {type(node.op).__name__} is not allowed")

    def visit_binop(self, node: ast.BinOp) -> Compiled:
        fn = _BINARY.get(type(node.op))
        if fn is None:
            raise self.fail(node, f"operator {type(node.op).__name__} is not allowed")
        left, right = self.visit(node.left), self.visit(node.right)
        return lambda v: fn(left(v), right(v))

    def visit_boolop(self, node: ast.BoolOp) -> Compiled:
        parts = [self.visit(x) for x in node.values]
        combine = _and if isinstance(node.op, ast.And) else _or

        def run(v: Mapping[str, np.ndarray]) -> np.ndarray:
            out = parts[0](v)
            for p in parts[1:]:
                out = combine(out, p(v))
            return out

        return run

    def visit_compare(self, node: ast.Compare) -> Compiled:
        ops = []
        for op in node.ops:
            fn = _COMPARE.get(type(op))
            if fn is None:
                raise self.fail(node, f"comparison {type(op).__name__} is not allowed")
            ops.append(fn)
        operands = [self.visit(node.left)] + [self.visit(x) for x in node.comparators]

        def run(v: Mapping[str, np.ndarray]) -> np.ndarray:
            vals = [o(v) for o in operands]
            out = _compare(ops[0], vals[0], vals[1])
            for i, fn in enumerate(ops[1:], start=1):
                out = _and(out, _compare(fn, vals[i], vals[i + 1]))
            return out

        return run

    def visit_call(self, node: ast.Call) -> Compiled:
        if not isinstance(node.func, ast.Name) or node.func.id not in _CALLS:
            shown = node.func.id if isinstance(node.func, ast.Name) else type(node.func).__name__
            raise self.fail(
                node, f"call of {shown!r} is not allowed (functions: {', '.join(FUNCTIONS)})"
            )
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise self.fail(node, f"{node.func.id}() takes positional arguments only")
        fn, lo, hi = _CALLS[node.func.id]
        if len(node.args) < lo or (hi is not None and len(node.args) > hi):
            want = f"{lo}" if hi == lo else f"at least {lo}"
            raise self.fail(node, f"{node.func.id}() takes {want} argument(s)")
        args = [self.visit(a) for a in node.args]
        return lambda v: fn(*(a(v) for a in args))
