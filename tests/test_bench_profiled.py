"""The benchmarks' profiles wrap product functions by name: each name must still exist, or
`make bench` stops with an AttributeError partway (it did, after a refactoring renamed one)."""

from __future__ import annotations

import inspect

from bench.zonal_profile import PROFILED


def test_every_profiled_function_exists() -> None:
    missing = [f"{getattr(o, '__name__', o)}.{n}" for o, n, _ in PROFILED if not hasattr(o, n)]
    assert not missing, f"bench/zonal_profile.py profiles functions that are gone: {missing}"
    assert all(callable(getattr(o, n)) for o, n, _ in PROFILED)
    assert len(PROFILED) == 6 and all(
        inspect.ismodule(o) or inspect.isclass(o) for o, _, _ in PROFILED
    )
