"""The warning lifecycle: candidate → issued → updated → cancelled or expired, or rejected.

Rules hand over :class:`~riskmap.geo.warnings.proposal.Proposal` objects;
:func:`apply_proposals` turns them into new warnings or changes to open ones,
:func:`expire_stale` ends warnings whose expiry has passed, :func:`yield_candidates` keeps
candidates off villages under higher issued warnings, and forecasters and commanders
act through :func:`issue`, :func:`reject`, :func:`edit_text`, :func:`escalate` and
:func:`cancel`. Each function does its work in one transaction, appends to the audit log, and
writes the outbox rows of whatever it publishes.

This package is the lifecycle's one entry point (the review API, benchmarks and tests call
``lifecycle.issue``, ``lifecycle.apply_proposals`` …); the work is split by who acts:
:mod:`.proposals` (a rule fired), :mod:`.review` (a person acted), :mod:`.manual` (a person
wrote a warning: a county's, or a city bureau's over several of its counties), :mod:`.expiry`
(time ran out), with the version steps they share in :mod:`.versions`.

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
- **One expiry.** A warning's expiry is the ``<expires>`` of the CAP message that put it in
  force (the latest published version that is not a Cancel; the draft while never published).
  The database copies it to ``warning.expires_at`` on every version write (migration 0026), so
  the detail, the list filters, the ATOM feed, the CAP and the lifecycle read one value. A
  published version is in force while ``sent ≤ effective ≤ now < expires``; publishing moves
  ``effective`` up to ``sent`` and refuses a draft whose time ran out (``ConflictError``, 409:
  a candidate older than its rule's hold time is re-evaluated by the next rules run, never
  issued with months-old numbers), and nothing changes a warning whose expiry has passed.
- **Time first.** Each cycle (and each rule's batch of proposals) first ends every warning whose
  expiry passed, with its all-clear, whatever happened since the last run; an expired warning
  is never extended — the rule firing again later makes a new warning.
- The **same level over the same area extends** the warning: a draft is refreshed in place (new
  numbers, texts and expiry; a forecaster's wording is kept); an issued warning records each
  village's latest firing and numbers in ``warning_village`` and, once less than half the hold
  time is left, publishes an ``Update`` with the fresh numbers and the later expiry to the CAP
  feed only (machines must keep it in force; loudspeakers and phones are not asked to repeat).
  While a forecaster's review of an update is pending, the rule firing refreshes the draft and,
  past the same half-hold threshold, also extends the published version (its content again,
  later expiry, CAP feed only; the draft is saved again as the next version on top of it): the
  public alert stays in force as long as the rule fires, whatever the review queue holds, and
  never runs out into an all-clear while the storm grows.
- **Villages leave** an area when the rule has not fired for them for its hold time: when the
  rule next fires over the warning its area becomes the villages fired now plus those fired
  within the hold time (a CAP ``Update`` with the smaller area, audit ``trim``, published at
  once like expiry), so an extension never carries villages of an earlier event.
- **Candidates yield** to issued warnings of the same hazard at the same or a higher level: their
  villages are taken out of new and refired warnings (audit ``trim`` with the villages and the
  covering warnings); a would-be candidate wholly covered is not made (audit ``suppress`` on
  the covering warning), and after a run :func:`yield_candidates` trims or ends candidates
  that an issued warning has grown over since. A candidate's version evidence lists the
  upstream signals (relayed CAP of the weather office) in force for the same hazard over its
  villages at another level (``upstream_conflicts``; the API's warning detail shows them).
- A forecaster's text edit or manual level change of an issued warning is published at once as
  an ``Update`` (the forecaster is the reviewer); on a candidate it edits the draft.
- Expiry of an issued warning publishes an all-clear (``Cancel``, responseType ``AllClear``,
  解除…) with outbox rows; a candidate that stops firing just expires.

The names are imported on first use (:mod:`riskmap.geo.lazy`): the review API acts through
:mod:`.review` and :mod:`.manual` and should not load the rules' side (proposals, candidates,
expiry) for it.
"""

from typing import TYPE_CHECKING

from riskmap.geo.lazy import lazy_exports

if TYPE_CHECKING:
    from riskmap.geo.warnings.lifecycle.candidates import yield_candidates
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
    "yield_candidates",
]
__getattr__ = lazy_exports(
    __name__,
    {
        "yield_candidates": ".candidates",
        "expire_stale": ".expiry",
        "apply_proposals": ".proposals",
        "cancel": ".review",
        "edit_text": ".review",
        "escalate": ".review",
        "get_warning": ".review",
        "issue": ".review",
        "reject": ".review",
        "Change": ".versions",
    },
)
