"""The feeds to poll, read from a YAML file an operator edits (validated with pydantic): HTTP
feeds, and SL 323 databases read directly (``kind: sl323-db``, :mod:`riskmap.ingest.sl323db`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    HttpUrl,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from riskmap.geo.errors import DataError

NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,40}$"
KIND_SL323_DB = "sl323-db"
Sl323TableName = Literal["ST_PPTN_R", "ST_RIVER_R", "ST_RSVR_R"]


class Source(BaseModel):
    """One polled feed: where, what kind, how often."""

    name: str = Field(pattern=NAME_PATTERN)
    url: HttpUrl
    kind: str | None = None  # detected from the content when omitted
    interval_s: float = Field(default=300, ge=1, le=86_400)
    timeout_s: float = Field(default=20, gt=0, le=300)
    attempts: int = Field(default=4, ge=1, le=10)  # tries per poll before giving up until next
    # hosts (``host`` or ``host:port``) besides the feed's own that its ATOM entries may link
    # to; any other link is refused (ingest/links.py)
    link_hosts: list[str] = Field(default=[], max_length=20)


class DatabaseSource(BaseModel):
    """An SL 323 real-time rain and water database read directly, by a high-water mark on TM.

    The password is never in this file (it is read and shown to people): it comes from the
    setting ``RISKMAP_SOURCE_PASSWORDS`` under the source's name.
    """

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    name: str = Field(pattern=NAME_PATTERN)
    kind: Literal["sl323-db"]
    url: str = Field(min_length=3, max_length=2000)  # SQLAlchemy URL without password
    db_schema: str | None = Field(default=None, alias="schema", pattern=r"^[A-Za-z_][\w$]{0,62}$")
    tables: list[Sl323TableName] = Field(
        default=["ST_PPTN_R", "ST_RIVER_R", "ST_RSVR_R"], min_length=1, max_length=3
    )
    # station filter: rows of these STCD, of a code starting with one of the prefixes, or of a
    # station whose ST_STBPRP_B.ADDVCD starts with one of the admin codes; none: every station
    # (at most 1000 codes: SQL Server takes 2100 parameters per statement)
    stations: list[Annotated[str, Field(pattern=r"^[0-9A-Z]{8}$")]] = Field(
        default=[], max_length=1000
    )
    stcd_prefixes: list[Annotated[str, Field(pattern=r"^[0-9A-Z]{1,7}$")]] = Field(
        default=[], max_length=100
    )
    addvcd: list[Annotated[str, Field(pattern=r"^[1-9]\d{1,5}$")]] = Field(
        default=[], max_length=100
    )
    interval_s: float = Field(default=300, ge=1, le=86_400)
    # rows inserted late with an older TM are read again while within this window of the mark
    overlap_s: float = Field(default=7200, ge=0, le=30 * 86_400)
    backfill_s: float = Field(default=86_400, ge=0, le=3660 * 86_400)  # first poll's reach
    page_rows: int = Field(default=5000, ge=1, le=100_000)
    timeout_s: float = Field(default=30, gt=0, le=600)

    @field_validator("url")
    @classmethod
    def _no_password(cls, value: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:  # messages never repeat the value: a password typed here would be printed
            url = make_url(value)
        except (ArgumentError, ValueError):
            raise ValueError("not a SQLAlchemy URL (dialect+driver://user@host/database)") from None
        if url.password is not None:
            raise ValueError(
                "the URL holds a password: remove it and set it in RISKMAP_SOURCE_PASSWORDS"
                " under this source's name"
            )
        return value

    @model_validator(mode="after")
    def _distinct_tables(self) -> DatabaseSource:
        if len(set(self.tables)) != len(self.tables):
            raise ValueError("tables are listed more than once")
        return self


def _source_type(value: Any) -> str:
    kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
    return "database" if kind == KIND_SL323_DB else "http"


AnySource = Annotated[
    Annotated[Source, Tag("http")] | Annotated[DatabaseSource, Tag("database")],
    Discriminator(_source_type),
]


class SourcesFile(BaseModel):
    sources: list[AnySource] = []


def _errors(exc: ValidationError) -> str:
    """The validation errors by place and message, without the values (a password typed into
    the file must not reach a log)."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors(include_input=False)
    )


def load_sources(path: Path) -> list[Source | DatabaseSource]:
    """Sources from ``path``; a missing file means no polling; a malformed one is an error."""
    if not path.exists():
        return []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise DataError(f"{path}: invalid sources file: {exc}") from exc
    try:
        parsed = SourcesFile.model_validate(data)
    except ValidationError as exc:
        raise DataError(f"{path}: invalid sources file: {_errors(exc)}") from None
    names = [s.name for s in parsed.sources]
    if len(names) != len(set(names)):
        raise DataError(f"{path}: source names must be unique, got {names}")
    return parsed.sources
