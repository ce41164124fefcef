"""Reading values out of CAP elements, shared by the alert, area and Atom readers.

CAP 1.1 and 1.2 differ only in their namespace for what is read here, so every lookup takes the
namespace of the element at hand. A value CAP requires and the message lacks raises
:class:`IncompleteError`: such a message is quarantined, not loaded.
"""

from __future__ import annotations

from datetime import UTC, datetime

from lxml import etree

from riskmap.geo.vocabulary import BEIJING, CAP_11_NS, CAP_12_NS

#: CAP namespace → CAP version.
CAP_NS = {CAP_12_NS: "1.2", CAP_11_NS: "1.1"}


class IncompleteError(ValueError):
    """The message lacks content CAP requires: it is quarantined, not loaded."""

    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field_name


def local_name(tag: str) -> str:
    """``tag`` without its namespace, whether written ``{uri}name`` or ``prefix:name``."""
    return tag.split(":", 1)[-1] if not tag.startswith("{") else tag.split("}", 1)[1]


def namespace_of(el: etree._Element) -> str:
    """The namespace URI of ``el`` ('' when it has none)."""
    return etree.QName(el).namespace or ""


def children(el: etree._Element, ns: str, name: str) -> list[etree._Element]:
    """The child elements ``name`` of ``el`` in namespace ``ns``."""
    return el.findall(f"{{{ns}}}{name}")


def text_of(el: etree._Element | None) -> str | None:
    """The stripped text of ``el``; None when it is missing or blank."""
    if el is None or el.text is None:
        return None
    value = el.text.strip()
    return value or None


def first_text(el: etree._Element, ns: str, name: str) -> str | None:
    """The text of the first child ``name`` (see :func:`text_of`)."""
    return text_of(el.find(f"{{{ns}}}{name}"))


def all_texts(el: etree._Element, ns: str, name: str) -> list[str]:
    """The non-blank texts of every child ``name``."""
    return [t for c in children(el, ns, name) if (t := text_of(c)) is not None]


def value_pairs(el: etree._Element, ns: str, name: str) -> dict[str, list[str]]:
    """CAP valueName/value pairs (eventCode, parameter, geocode) as {valueName: [values]}."""
    out: dict[str, list[str]] = {}
    for pair in children(el, ns, name):
        key = first_text(pair, ns, "valueName") or ""
        value = first_text(pair, ns, "value")
        out.setdefault(key, [])
        if value is not None:
            out[key].append(value)
    return out


def canonical(value: str | None, allowed: tuple[str, ...]) -> str | None:
    """The allowed spelling of ``value`` compared case-insensitively, else None."""
    if value is None:
        return None
    return next((a for a in allowed if a.lower() == value.lower()), None)


def required(el: etree._Element, ns: str, name: str, where: str) -> str:
    """The text of child ``name``; IncompleteError (field ``where + name``) when it is absent."""
    value = first_text(el, ns, name)
    if value is None:
        raise IncompleteError(f"{where}{name}", f"required <{name}> is missing or empty")
    return value


def required_enum(
    el: etree._Element, ns: str, name: str, allowed: tuple[str, ...], where: str
) -> str:
    """The required child ``name`` in its allowed spelling; IncompleteError for other values."""
    raw = required(el, ns, name, where)
    value = canonical(raw, allowed)
    if value is None and name == "certainty" and raw.lower() == "very likely":
        return "Likely"  # CAP 1.1's "Very Likely", deprecated in 1.2
    if value is None:
        raise IncompleteError(
            f"{where}{name}", f"<{name}> {raw!r} is not one of {', '.join(allowed)}"
        )
    return value


def cap_alerts_in(el: etree._Element) -> list[etree._Element]:
    """Every CAP 1.1/1.2 ``<alert>`` element at or below ``el`` (wrappers, Atom entries)."""
    return [
        a
        for a in el.iter()
        if isinstance(a.tag, str) and local_name(a.tag) == "alert" and namespace_of(a) in CAP_NS
    ]


def parse_time(text: str | None) -> datetime | None:
    """A CAP dateTime as UTC; a time without offset is taken as Beijing time (GB/T 35965.1).

    Returns None for missing or unparseable text.
    """
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=BEIJING)
    try:
        return value.astimezone(UTC)
    except OverflowError:  # e.g. year 1 at UTC+8: before the first representable UTC time
        return None
