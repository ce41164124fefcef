"""The ``riskmap`` command line: :func:`main` runs the command tree of :mod:`.commands`.

This package's ``__init__`` imports nothing else, on purpose. ``riskmap serve --workers N``
has uvicorn spawn its workers, and a spawned process first re-runs the parent's main script
(the ``riskmap`` console script, ``from riskmap.api.cli import main``) as ``__mp_main__``: when
this module built the whole command tree, every API worker imported every command group and
what they import (typer, numpy, the rules engine, the demo generator ...: about half a second
of CPU a worker) before importing the app it serves. ``app`` is still importable from here.
"""

from typing import TYPE_CHECKING

from riskmap.geo.lazy import lazy_exports

if TYPE_CHECKING:
    from riskmap.api.cli.commands import app

__all__ = ["app", "main"]
__getattr__ = lazy_exports(__name__, {"app": ".commands"})


def main() -> None:
    """Entry point of the ``riskmap`` command (and ``python -m riskmap.api.cli``)."""
    from riskmap.api.cli.commands import run

    run()
