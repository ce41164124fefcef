"""Package namespaces whose names are imported on first use (PEP 562).

A package ``__init__`` that imports its submodules makes every ``import pkg.small_part`` pay
for all of them: importing ``riskmap.geo.plans.model`` ran the plan checker, the rules engine,
numpy and YAML. Each API worker imports the app at its start (``riskmap serve`` starts several,
and restarts them), so packages whose parts the API reads export their names lazily: the
submodule is imported when the name is first read, then kept on the package like an eager
import. Static tools see the names through the package's ``TYPE_CHECKING`` imports.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` giving each name from its submodule.

    ``exports`` maps a public name to the submodule (relative, e.g. ``".load"``) defining it.
    Names not in ``exports`` raise ``AttributeError``, so ``from package import submodule``
    still falls back on importing the submodule.
    """

    def __getattr__(name: str) -> Any:  # noqa: N807 (the module hook's own name)
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
