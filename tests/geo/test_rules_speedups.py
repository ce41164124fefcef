"""The vectorised shortcuts of the rules engine give exactly what the plain Python they replace
gives (no database needed): evidence rounding against Python's ``round``, village positions
against a dictionary lookup."""

from __future__ import annotations

import struct

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from riskmap.geo.rules.engine import rounded3
from riskmap.geo.rules.villages import Villages

EDGES = [
    np.nan, np.inf, -np.inf, 0.0, -0.0, 5e-324, -1e-300, 1e300, 2.0**52, 2.0**60, 0.0005,
    0.0015, -0.0005, 33.0745, -33.0745, 1.0005, 2.675, 0.1235, 999.9995, 4503599627370.4995,
]  # fmt: skip


def _python(values: list[float]) -> list[float | None]:
    return [None if x != x else round(x, 3) for x in values]


def _bits(values: list[float | None]) -> list[bytes | None]:
    return [None if x is None else struct.pack("<d", x) for x in values]


def test_rounding_equals_python_round_on_edges_and_decimal_halves() -> None:
    rng = np.random.default_rng(7)
    halves = (np.arange(-20_000, 20_000) + 0.5) / 1000  # k.xxx5: the ties of 3 decimals
    fours = np.round(rng.uniform(-500, 500, 20_000), 4)  # rain as a 4-decimal reading gives it
    wide = np.exp(rng.uniform(-700, 700, 20_000)) * rng.choice([-1, 1], 20_000)
    values = np.concatenate([EDGES, halves, fours, wide, rng.uniform(0, 300, 20_000)])
    assert _bits(rounded3(values)) == _bits(_python(values.tolist()))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=50))
def test_rounding_equals_python_round_on_any_floats(values: list[float]) -> None:
    assert _bits(rounded3(np.array(values, dtype=float))) == _bits(_python(values))


def test_positions_of_every_village_in_order_and_of_a_subset() -> None:
    codes = np.array(sorted(f"43122610{i:04d}" for i in range(500)))
    villages = Villages(codes=codes, names=codes.astype(object), counties=codes.astype(object))
    where = {c: i for i, c in enumerate(codes.tolist())}
    everyone = codes.tolist()  # the fast path: the very village order
    pos, found = villages.index(everyone)
    assert found.all() and pos.tolist() == [where[c] for c in everyone]
    some = [everyone[3], "999", everyone[0], everyone[499]]  # a stranger and another order
    pos, found = villages.index(iter(some))
    assert found.tolist() == [True, False, True, True]
    assert pos.tolist() == [where[c] for c in some if c in where]
