"""One module per feed kind; each registers a feed with `pipeline.register` at import."""

from __future__ import annotations

import importlib
import importlib.util

# Detection tries feeds in this order: specific formats before generic ones (e.g. CAP before
# any other XML, FIRMS before generic CSV).
MODULES = ("cap", "quakes", "hydro", "grids", "fire", "geohazard")


def load_all() -> None:
    """Import every bundled feed module."""
    for name in MODULES:
        if importlib.util.find_spec(f"{__name__}.{name}") is not None:
            importlib.import_module(f"{__name__}.{name}")
