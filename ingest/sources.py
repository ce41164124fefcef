"""The HTTP feeds to poll, read from a YAML file an operator edits (validated with pydantic)."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, Field, HttpUrl, ValidationError

from riskmap.geo.errors import DataError


class Source(BaseModel):
    """One polled feed: where, what kind, how often."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,40}$")
    url: HttpUrl
    kind: str | None = None  # detected from the content when omitted
    interval_s: float = Field(default=300, ge=1, le=86_400)
    timeout_s: float = Field(default=20, gt=0, le=300)
    attempts: int = Field(default=4, ge=1, le=10)  # tries per poll before giving up until next
    # hosts (``host`` or ``host:port``) besides the feed's own that its ATOM entries may link
    # to; any other link is refused (ingest/links.py)
    link_hosts: list[str] = Field(default=[], max_length=20)


class SourcesFile(BaseModel):
    sources: list[Source] = []


def load_sources(path: Path) -> list[Source]:
    """Sources from ``path``; a missing file means no polling; a malformed one is an error."""
    if not path.exists():
        return []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        parsed = SourcesFile.model_validate(data)
    except (yaml.YAMLError, ValidationError) as exc:
        raise DataError(f"{path}: invalid sources file: {exc}") from exc
    names = [s.name for s in parsed.sources]
    if len(names) != len(set(names)):
        raise DataError(f"{path}: source names must be unique, got {names}")
    return parsed.sources
