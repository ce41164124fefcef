"""Hardened reading of upstream XML, and the OASIS schemas messages are checked against.

Bytes from other agencies are untrusted: a DOCTYPE is refused outright (CAP never needs one, and
that rules out external entities and entity-expansion bombs), and the parser itself resolves no
entities, loads no DTD and never touches the network. Oversized, empty, HTML and malformed input
is refused here with one clear message, before anything reads CAP content.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from pathlib import Path

from lxml import etree

from riskmap.ingest.batch import FeedReadError

MAX_BYTES = 32 << 20  # a CAP message is kilobytes; a national Atom index well under a megabyte


def shared_schema_dir() -> Path:
    """Folder of the OASIS schemas in the shared sample data (tests compare the bundled copies).

    The product never reads it: validation uses the copies bundled in ``ingest/feeds/schemas``.
    """
    return Path(__file__).resolve().parents[4] / "shared" / "data" / "cap" / "schema"


def _hardened_parser() -> etree.XMLParser:
    """No entity resolution, no DTD loading, no network, no huge trees (defence in depth: a
    DOCTYPE is refused before parsing anyway)."""
    return etree.XMLParser(
        resolve_entities=False,
        load_dtd=False,
        dtd_validation=False,
        no_network=True,
        huge_tree=False,
        remove_comments=False,
    )


@cache
def cap_schema(version: str) -> etree.XMLSchema:
    """The OASIS CAP schema of ``version`` ('1.1' or '1.2'), read from the package."""
    name = f"CAP-v{version}.xsd"
    data = (resources.files("riskmap.ingest.feeds") / "schemas" / name).read_bytes()
    return etree.XMLSchema(etree.fromstring(data, _hardened_parser()))


def schema_errors(alert: etree._Element, version: str) -> list[str]:
    """The schema's complaints about ``alert`` ("line N: message"), empty when it is valid."""
    schema = cap_schema(version)
    if schema.validate(alert):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]  # type: ignore[attr-defined]


# -- reading bytes safely ---------------------------------------------------------------------

_PROLOG_SKIP = re.compile(r"\s+|<\?.*?\?>|<!--.*?-->", re.S)


def head_text(head: bytes) -> str:
    """The head decoded well enough to read the prolog (UTF-16 or an ASCII-compatible code)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", errors="replace").lstrip("\ufeff")
    if len(head) > 1 and (head[0] == 0) != (head[1] == 0):
        return head.decode("utf-16-be" if head[0] == 0 else "utf-16-le", errors="replace")
    return head.removeprefix(b"\xef\xbb\xbf").decode("latin-1")


def _after_prolog(text: str) -> str:
    """``text`` from the first markup that is not whitespace, a PI or a comment."""
    pos = 0
    while m := _PROLOG_SKIP.match(text, pos):
        pos = m.end()
    return text[pos:]


def root_tag(text: str) -> str | None:
    """The root start tag (``<name attrs...``) after the prolog and any DOCTYPE, or None."""
    rest = _after_prolog(text)
    if rest[:9].upper() == "<!DOCTYPE":
        close = "]>" if "[" in rest.split(">", 1)[0] else ">"
        end = rest.find(close)
        rest = _after_prolog(rest[end + len(close) :]) if end >= 0 else ""
    m = re.match(r"<([A-Za-z_][\w.:-]*)([^>]*)", rest)
    return m.group(0) if m else None


def _refuse_unsafe_or_foreign(data: bytes, source: str) -> None:
    """Reject before parsing: empty files, HTML pages and any DOCTYPE (XXE, entity bombs)."""
    text = head_text(data[:65536])
    rest = _after_prolog(text)
    if not rest.strip():
        raise FeedReadError(f"{source}: empty file (no XML element)")
    lowered = rest[:200].lower()
    if lowered.startswith(("<!doctype html", "<html")):
        title = _html_title(data[:65536], text)
        what = f" ({title!r})" if title else ""
        raise FeedReadError(
            f"{source}: not CAP: an HTML page{what}, e.g. a web server error page served in "
            "place of the message"
        )
    if lowered.startswith("<!doctype"):
        raise FeedReadError(
            f"{source}: refused: the document has a DOCTYPE/DTD; CAP needs none and DTDs allow "
            "external entities (XXE) and entity expansion (billion laughs)"
        )


def _html_title(head: bytes, text: str) -> str | None:
    """The page's <title>, decoded with the charset the page declares (e.g. Big5)."""
    m = re.search(rb"<title>(.*?)</title>", head, re.S | re.I)
    if m is None:
        return None
    charset = re.search(r"charset=[\"']?([\w-]+)", text, re.I)
    try:
        title = m.group(1).decode(charset.group(1) if charset else "utf-8")
    except (LookupError, UnicodeDecodeError):
        title = m.group(1).decode("latin-1")
    return " ".join(title.split())[:80]


def read_xml(data: bytes, source: str) -> etree._Element:
    """The root element of ``data``, parsed with every dangerous XML feature off.

    Raises FeedReadError with one clear message for empty, oversized, HTML, DTD-carrying or
    malformed (e.g. truncated) input.
    """
    if len(data) > MAX_BYTES:
        raise FeedReadError(f"{source}: {len(data)} bytes is too large for a CAP message or feed")
    _refuse_unsafe_or_foreign(data, source)
    try:
        root = etree.fromstring(data, _hardened_parser())
    except etree.XMLSyntaxError as exc:
        raise FeedReadError(f"{source}: not well-formed XML: {exc}") from exc
    info = root.getroottree().docinfo
    if info.internalDTD is not None or info.doctype:
        raise FeedReadError(f"{source}: refused: the document has a DOCTYPE/DTD")
    return root
