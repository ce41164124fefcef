"""Upstream alerts: CAP 1.1 / 1.2 messages and CAP Atom index feeds from other agencies.

Not the CAP this product writes (that is :mod:`riskmap.geo.warnings`). One feed kind, ``cap``,
takes a single CAP message (default namespace or ``cap:``-prefixed, with or without a BOM,
xml-stylesheet PIs or an XML-DSig signature), a document holding several alerts (a list root,
RSS, EDXL-DE), or an Atom index feed; each alert is loaded on its own, its signature checked
against the trusted certificates. Importing this package registers the feed.

- :mod:`.safe_xml`: hardened parsing, size limit, the bundled OASIS schemas
- :mod:`.elements`: value lookups shared by the readers; what makes a message incomplete
- :mod:`.areas`: polygons, circles and geocodes of an ``<area>``
- :mod:`.alerts`: rows of one ``<alert>`` (infos, areas, references)
- :mod:`.atom`: entries of an Atom index feed
- :mod:`.signature`: an alert's XML signature: verified, unverified or invalid, and why
- :mod:`.trust`: the trusted certificates (``RISKMAP_CAP_TRUSTED_CERTS``)
- :mod:`.documents`: which kind of document it is, and all its rows
- :mod:`.feed`: the feed kind, its Batch and the after-load step (references, expiry)
"""

from __future__ import annotations

from riskmap.ingest.feeds.upstream_cap.feed import CapFeed
from riskmap.ingest.registry import register

register(CapFeed())
