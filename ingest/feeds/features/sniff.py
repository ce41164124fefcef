"""Recognising a file from its first bytes, for the geohazard and fire feeds' ``sniff``.

Several of these feeds are GeoJSON or CSV told apart only by their property or column names;
the shared look-ups (head text, JSON keys, CSV header, fire-danger markers) live here so each
feed's ``sniff`` stays a short rule.
"""

from __future__ import annotations

import re
from pathlib import Path

from riskmap.ingest.feeds.features.fields import norm_key

SNIFF_BYTES = 256 * 1024  # properties may follow a long first geometry
#: Words that mark a fire-danger file: the fire-danger feed claims it, geohazard risk leaves it.
FIRE_MARKERS = ("火险", "fire_danger", "fire-danger", "firedanger")


def read_head(path: Path, head: bytes, n: int = SNIFF_BYTES) -> str:
    """More of the file than the pipeline's 4 KiB head, for sniffing JSON property names."""
    if len(head) < 4096:
        data = head
    else:
        with path.open("rb") as fh:
            data = fh.read(n)
    return data.decode("utf-8", errors="ignore").lstrip("\ufeff \r\n\t")


def looks_like_geojson(text: str) -> bool:
    """A JSON object with a Feature type near the start."""
    return text.startswith("{") and re.search(r'"type"\s*:\s*"Feature', text) is not None


def has_key(text: str, *names: str) -> bool:
    """Whether any of ``names`` appears as a JSON object key in ``text``."""
    return any(re.search(r'"' + re.escape(n) + r'"\s*:', text, re.IGNORECASE) for n in names)


def csv_header(path: Path, head: bytes) -> list[str]:
    """The folded column names of a CSV's first line."""
    line = head.decode("utf-8", errors="ignore").lstrip("\ufeff").split("\n", 1)[0]
    return [norm_key(c) for c in line.strip().split(",")]
