"""Drills (演练): a scenario replayed as an exercise in a schema of its own, then scored.

:mod:`.twin` makes the drill's schema, :mod:`.register` keeps the list of drills (and drops them),
:mod:`.exercise` runs an hour of the real cycle inside it, :mod:`.report` scores it and
:mod:`.text` prints the score. The replay itself (ingest) and delivery (dispatcher) are driven by
the command line (``riskmap drill run``), since ``geo`` depends on neither.

The names are imported on first use (:mod:`riskmap.geo.lazy`): the API lists and reports drills
but never runs one, and should not load the rules engine and the plans for it.
"""

from typing import TYPE_CHECKING

from riskmap.geo.lazy import lazy_exports

if TYPE_CHECKING:
    from riskmap.geo.drills.exercise import drill_cycle
    from riskmap.geo.drills.register import (
        DrillSpec,
        drop_drill,
        finish_drill,
        get_drill,
        list_drills,
        open_drill,
    )
    from riskmap.geo.drills.report import drill_report
    from riskmap.geo.drills.text import report_lines
    from riskmap.geo.drills.twin import enter, leave

__all__ = [
    "DrillSpec",
    "drill_cycle",
    "drill_report",
    "drop_drill",
    "enter",
    "finish_drill",
    "get_drill",
    "leave",
    "list_drills",
    "open_drill",
    "report_lines",
]
__getattr__ = lazy_exports(
    __name__,
    {
        "drill_cycle": ".exercise",
        "DrillSpec": ".register",
        "drop_drill": ".register",
        "finish_drill": ".register",
        "get_drill": ".register",
        "list_drills": ".register",
        "open_drill": ".register",
        "drill_report": ".report",
        "report_lines": ".text",
        "enter": ".twin",
        "leave": ".twin",
    },
)
