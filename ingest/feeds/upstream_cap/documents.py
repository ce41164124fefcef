"""What an upstream document is (one CAP message, a wrapper such as EDXL-DE, an Atom index) and
its rows.

The root decides: a CAP ``<alert>``, an Atom ``<feed>``, or any other root that holds CAP alerts
(a wrapper). CAP 1.0, foreign ``<alert>`` roots and HTML are refused with the reason; an
incomplete alert is quarantined while the rest of the document loads.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography import x509
from lxml import etree

from riskmap.geo.vocabulary import ATOM_NS
from riskmap.ingest.batch import FeedReadError, Problem
from riskmap.ingest.feeds.upstream_cap.alerts import AlertRows, Collected, alert_rows
from riskmap.ingest.feeds.upstream_cap.atom import read_atom
from riskmap.ingest.feeds.upstream_cap.elements import (
    CAP_NS,
    IncompleteError,
    cap_alerts_in,
    first_text,
    local_name,
    namespace_of,
)
from riskmap.ingest.feeds.upstream_cap.safe_xml import read_xml

CAP10_NS = "http://www.incident.com/cap/1.0"


def _take_alert(
    alert: etree._Element,
    label: str,
    raw_xml: str,
    out: Collected,
    trusted: Sequence[x509.Certificate],
) -> AlertRows | None:
    """Add one alert's rows to ``out``, or its quarantine record when it is incomplete."""
    try:
        rows = alert_rows(alert, label, raw_xml, trusted)
    except IncompleteError as exc:
        out.problems.append(Problem(label, exc.field, f"not loaded: {exc}", raw_xml[:20000]))
        return None
    out.alerts.append(rows)
    out.problems.extend(rows.problems)
    return rows


def _label(n: int, alert: etree._Element) -> str:
    ident = first_text(alert, namespace_of(alert), "identifier")
    return f"alert {n}" + (f" ({ident})" if ident else "")


def _check_root(root: etree._Element, source: str) -> str:
    """'alert', 'atom' or 'wrapper'; anything else is refused with the reason."""
    ns, local = namespace_of(root), local_name(root.tag)
    if local == "alert" and ns in CAP_NS:
        return "alert"
    if ns == CAP10_NS:
        raise FeedReadError(
            f"{source}: CAP 1.0 (namespace {CAP10_NS}) is not supported; only CAP 1.1 and 1.2"
        )
    if local == "alert":
        raise FeedReadError(
            f"{source}: root <alert> is in namespace {ns or '(none)'!r}, which is not CAP "
            f"(expected {' or '.join(CAP_NS)})"
        )
    if local == "feed" and ns == ATOM_NS:
        return "atom"
    if cap_alerts_in(root):
        return "wrapper"
    if local == "html" or ns == "http://www.w3.org/1999/xhtml":
        raise FeedReadError(f"{source}: not CAP: an HTML page")
    raise FeedReadError(
        f"{source}: not CAP: root element <{local}> (namespace {ns or 'none'}) holds no CAP alert"
    )


def _document_text(data: bytes, root: etree._Element) -> str:
    encoding = root.getroottree().docinfo.encoding or "utf-8"
    try:
        return data.decode(encoding).lstrip("\ufeff")
    except (LookupError, UnicodeDecodeError):
        return etree.tostring(root, encoding="unicode")


def collect(data: bytes, source: str, trusted: Sequence[x509.Certificate] = ()) -> Collected:
    """Rows and problems of one document (message, wrapper or Atom feed): each alert on its
    own, its signature checked against the ``trusted`` certificates."""
    root = read_xml(data, source)
    what = _check_root(root, source)
    out = Collected()
    if what == "atom":
        read_atom(root, source, out, trusted)
    elif what == "alert":
        _take_alert(root, _label(1, root), _document_text(data, root), out, trusted)
    else:
        for n, alert in enumerate(cap_alerts_in(root), start=1):
            raw = etree.tostring(alert, encoding="unicode")
            _take_alert(alert, _label(n, alert), raw, out, trusted)
    return out
