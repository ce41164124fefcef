"""The API's workers start without the heavy analysis libraries: each `riskmap serve` worker
imports the app, and scipy alone cost a quarter of that (issue 19: the quick bench starts about
twenty workers). What a request needs later is imported by that request."""

from __future__ import annotations

import subprocess
import sys


def test_the_app_imports_without_scipy_or_dask() -> None:
    code = (
        "import sys, riskmap.api.app; "
        "print(sorted(m for m in ('scipy', 'dask', 'numba', 'xarray') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "[]", done.stdout
