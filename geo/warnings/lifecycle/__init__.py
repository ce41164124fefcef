"""The warning lifecycle: candidate → issued → updated → cancelled or expired, or rejected.

Rules hand over :class:`~riskmap.geo.warnings.proposal.Proposal` objects;
:func:`apply_proposals` turns them into new warnings or changes to open ones,
:func:`expire_stale` ends warnings whose rule has stopped firing, and forecasters and commanders
act through :func:`issue`, :func:`reject`, :func:`edit_text`, :func:`escalate` and
:func:`cancel`. Each function does its work in one transaction, appends to the audit log, and
writes the outbox rows of whatever it publishes.

This package is the lifecycle's one entry point (the review API, benchmarks and tests call
``lifecycle.issue``, ``lifecycle.apply_proposals`` …); the work is split by who acts:
:mod:`.proposals` (a rule fired), :mod:`.review` (a person acted), :mod:`.expiry` (time ran
out), with the version steps they share in :mod:`.versions`.

Decisions
---------
- A **version is a draft until published**; drafts change in place, published versions never do
  (a trigger refuses). A candidate is a warning whose version 1 is a draft: rule changes and
  forecaster edits rewrite it, and it goes out as one CAP ``Alert`` when issued.
- Once issued, a change of level (escalate / de-escalate) or a grown area is a **new version**
  (CAP ``Update`` referencing every earlier published version). If the rule's review policy is
  ``auto`` it is published at once with its outbox rows (people must hear that a flash flood
  became "evacuate now" without waiting for a desk); otherwise it waits as a draft for a
  forecaster, and the public keeps the published version until :func:`issue` or :func:`reject`.
- The **same level over the same or a smaller area extends** the warning (``last_fired_at`` and
  ``expires_at`` move, audit ``extend``) and sends nothing. The area never shrinks while the
  warning is open: villages that stop firing stay warned until the whole warning expires.
- Proposals of one rule and hazard that overlap the same open warning are **merged** first: the
  highest level wins, the areas unite, each village keeps the numbers of its highest proposal.
- A forecaster's text edit or manual level change of an issued warning is published at once as
  an ``Update`` (the forecaster is the reviewer); on a candidate it edits the draft.
- Expiry of an issued warning publishes an all-clear (``Cancel``, responseType ``AllClear``,
  解除…) with outbox rows; a candidate that stops firing just expires.
"""

from riskmap.geo.warnings.lifecycle.expiry import expire_stale
from riskmap.geo.warnings.lifecycle.proposals import apply_proposals
from riskmap.geo.warnings.lifecycle.review import (
    cancel,
    edit_text,
    escalate,
    get_warning,
    issue,
    reject,
)
from riskmap.geo.warnings.lifecycle.versions import Change

__all__ = [
    "Change",
    "apply_proposals",
    "cancel",
    "edit_text",
    "escalate",
    "expire_stale",
    "get_warning",
    "issue",
    "reject",
]
