"""The safe expression language: what it computes, NULL semantics, and what it refuses."""

from __future__ import annotations

import numpy as np
import pytest

from riskmap.geo.rules.expr import ExpressionError, compile_expression

NAMES = {"a", "b", "c"}
NAN = np.nan


def ev(text: str, **values) -> np.ndarray:
    arrays = {k: np.asarray(v, dtype=float) for k, v in values.items()}
    n = len(next(iter(arrays.values()))) if arrays else 1
    for k in NAMES - set(arrays):
        arrays[k] = np.full(n, NAN)
    return compile_expression(text, NAMES).holds(arrays, n)


def test_comparisons_arithmetic_and_logic() -> None:
    a, b = [10, 50, 100], [5, 60, 90]
    assert ev("a >= 50", a=a).tolist() == [False, True, True]
    assert ev("a - b > 0 and a * 2 / 4 >= 25", a=a, b=b).tolist() == [False, False, True]
    assert ev("a < 20 or b == 60", a=a, b=b).tolist() == [True, True, False]
    assert ev("not a > 20", a=a).tolist() == [True, False, False]
    assert ev("20 < a <= 100", a=a).tolist() == [False, True, True]
    assert ev("max(a, b) >= 60", a=a, b=b).tolist() == [False, True, True]
    assert ev("min(a, b, 7) == 5", a=a, b=b).tolist() == [True, False, False]
    assert ev("-a + abs(-2 * a) == a", a=a).tolist() == [True, True, True]
    assert ev("a % 3 == 1", a=a).tolist() == [True, False, True]


def test_null_semantics_are_sqls() -> None:
    a, b = [NAN, NAN, 1.0, NAN], [1.0, NAN, NAN, 0.0]
    # a comparison with NULL is NULL → does not fire, and neither does its negation
    assert ev("a > 0", a=a, b=b).tolist() == [False, False, True, False]
    assert ev("not a > 0", a=a, b=b).tolist() == [False, False, False, False]
    assert ev("a != 5", a=a, b=b).tolist() == [False, False, True, False]
    # Kleene: NULL or TRUE is TRUE, NULL and FALSE is FALSE (so not(...) is TRUE)
    assert ev("a > 0 or b > 0", a=a, b=b).tolist() == [True, False, True, False]
    assert ev("not (a > 0 and b > 0)", a=a, b=b).tolist() == [False, False, False, True]
    assert ev("is_null(a)", a=a, b=b).tolist() == [True, True, False, True]
    assert ev("coalesce(a, b, 7) == 7", a=a, b=b).tolist() == [False, True, False, False]
    assert ev("coalesce(a, b) >= 0", a=a, b=b).tolist() == [True, False, True, True]
    # min/max skip NULLs like LEAST/GREATEST; arithmetic propagates them; x/0 is NULL
    assert ev("max(a, b) >= 1", a=a, b=b).tolist() == [True, False, True, False]
    assert ev("a + b >= 0", a=a, b=b).tolist() == [False, False, False, False]
    assert ev("is_null(b / 0)", a=a, b=b).tolist() == [True, True, True, True]
    assert ev("None == None", a=a).tolist() == [False] * 4


def test_names_used_are_recorded() -> None:
    e = compile_expression("a > 1 or coalesce(b, 2) > 1", NAMES)
    assert e.names == {"a", "b"}


@pytest.mark.parametrize(
    ("text", "fragment", "col"),
    [
        ("a.__class__", "Attribute is not allowed", 1),
        ("a > 1 and __import__('os')", "call of '__import__' is not allowed", 11),
        ("open('x')", "call of 'open' is not allowed", 1),
        ("eval('1')", "call of 'eval' is not allowed", 1),
        ("(lambda: 1)()", "call of 'Lambda' is not allowed", 1),
        ("a[0] > 1", "Subscript is not allowed", 1),
        ("[x for x in a]", "ListComp is not allowed", 1),
        ("'red' == 'red'", "not a number", 1),
        ("d > 1", "unknown name 'd'", 1),
        ("_a > 1", "no leading underscore", 1),
        ("a ** 2 > 1", "operator Pow is not allowed", 1),
        ("a in b", "comparison In is not allowed", 1),
        ("a if b else c", "IfExp is not allowed", 1),
        ("max(a)", "takes at least 2", 1),
        ("is_null(x=a)", "positional arguments only", 1),
        ("a >", "syntax error", None),
        ("(a := 1)", "NamedExpr is not allowed", 2),
        ("", "empty", 1),
    ],
)
def test_rejected(text: str, fragment: str, col: int | None) -> None:
    with pytest.raises(ExpressionError) as info:
        compile_expression(text, NAMES)
    assert fragment in info.value.message
    assert col is None or info.value.col == col


def test_multiline_error_line() -> None:
    with pytest.raises(ExpressionError) as info:
        compile_expression("a > 1 or\n b.real > 2", NAMES)
    assert (info.value.line, info.value.col) == (2, 2)
    assert compile_expression("a > 1 or\n b > 2", NAMES).names == {"a", "b"}
