"""The API's workers start without the heavy analysis libraries: each `riskmap serve` worker
imports the app, and scipy alone cost a quarter of that (issue 19: the quick bench starts about
twenty workers); pandas and rasterio another third (session 13: 1.9 → 1.3 s a worker). What a
request needs later is imported by that request."""

from __future__ import annotations

import subprocess
import sys


def test_the_app_imports_without_the_analysis_libraries() -> None:
    code = (
        "import sys, riskmap.api.app; "
        "heavy = ('scipy', 'dask', 'numba', 'xarray', 'pandas', 'rasterio'); "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "[]", done.stdout
