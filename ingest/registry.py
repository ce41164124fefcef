"""The feed kinds riskmap reads: feed packages register at import; files are told apart by sniff."""

from __future__ import annotations

import logging
from pathlib import Path

from riskmap.ingest.batch import Feed, FeedReadError

log = logging.getLogger("riskmap.ingest")

_FEEDS: dict[str, Feed] = {}


def register(feed: Feed) -> Feed:
    """Add a feed kind (feed modules call this at import)."""
    _FEEDS[feed.kind] = feed
    return feed


def feeds() -> dict[str, Feed]:
    """All feed kinds, importing the bundled feed modules once."""
    from riskmap.ingest.feeds import load_all

    load_all()
    return dict(_FEEDS)


def detect(path: Path, head: bytes, available: dict[str, Feed]) -> Feed:
    """The feed whose sniff accepts the file; an unknown file names the kinds tried."""
    for feed in available.values():
        try:
            if feed.sniff(path, head):
                return feed
        except Exception:  # a buggy sniff must not break detection of the others, but is said
            log.warning("sniff of %s raised on %s", feed.kind, path, exc_info=True)
    raise FeedReadError(
        f"{path}: cannot tell what kind of feed this is; pass --kind (one of"
        f" {', '.join(sorted(available))})"
    )
