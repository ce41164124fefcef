"""One package per feed kind (a module per format); each registers its feeds at import."""

from __future__ import annotations

import importlib

# Detection tries feeds in this order: specific formats before generic ones (e.g. CAP before
# any other XML). The geohazard feeds come before the fire feeds, as they always have (fire
# used to import geohazard): sensor-readings CSV is tried before FIRMS CSV; their columns differ.
MODULES = ("upstream_cap", "quakes", "hydro", "micaps", "grids", "geohazard", "fire")


def load_all() -> None:
    """Import every bundled feed package (a missing one is an error, never silently skipped)."""
    for name in MODULES:
        importlib.import_module(f"{__name__}.{name}")
