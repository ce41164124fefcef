"""Settings of the device-reading servers (``RISKMAP_HJ212_*``), read by the ingest face only."""

from __future__ import annotations

from functools import lru_cache
from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from riskmap.ingest.worksafety.hj212 import OVERHEAD, STANDARD_MAX_SEGMENT
from riskmap.ingest.worksafety.server import ServerOptions
from riskmap.ingest.worksafety.sink import SinkOptions


class HJ212Settings(BaseSettings):
    """The HJ 212 TCP server's limits and batching; defaults suit a county's few thousand
    devices sending every 30 s to a minute."""

    model_config = SettingsConfigDict(env_prefix="RISKMAP_HJ212_", env_file=None, extra="ignore")

    host: str = Field(default="127.0.0.1", description="address to listen on")
    port: int = Field(default=9212, ge=0, le=65535, description="TCP port (0: any free port)")
    max_segment: int = Field(
        default=STANDARD_MAX_SEGMENT,
        ge=64,
        le=9999,
        description="longest data segment taken (the standard says 1024; 4 digits allow 9999)",
    )
    idle_timeout_s: float = Field(default=300.0, gt=0, description="close a silent connection")
    flush_rows: int = Field(default=20_000, ge=1, description="write a batch at this many readings")
    flush_ms: int = Field(default=500, ge=10, le=60_000, description="…or this often")
    reload_s: float = Field(default=60.0, gt=0, description="read the point map again this often")
    mqtt_url: str | None = Field(
        default=None,
        pattern=r"^mqtt://[^/\s]+$",
        description="broker to take JSON readings from (riskmap/readings[/<point id>]);"
        " unset: HJ 212 only",
    )
    max_pending: int = Field(
        default=200_000, ge=1, description="readings held before devices are read no more"
    )
    retention_days: int = Field(
        default=1095,
        ge=0,
        description="keep readings this many days (whole months are dropped once older; checked"
        " at start and every six hours); 0 keeps everything",
    )

    @model_validator(mode="after")
    def _pending_holds_a_batch(self) -> Self:
        if self.max_pending < self.flush_rows:
            raise ValueError("max_pending must be at least flush_rows")
        return self

    def options(self, host: str | None = None, port: int | None = None) -> ServerOptions:
        """Server options, with the command line's host and port over the settings'."""
        return ServerOptions(
            host=host or self.host,
            port=self.port if port is None else port,
            max_frame=self.max_segment + OVERHEAD,
            idle_timeout_s=self.idle_timeout_s,
            sink=self.sink_options(),
        )

    def sink_options(self) -> SinkOptions:
        """Batching of every reading server of this run (HJ 212 and MQTT alike)."""
        return SinkOptions(
            flush_rows=self.flush_rows,
            flush_ms=self.flush_ms,
            reload_s=self.reload_s,
            max_pending=self.max_pending,
            retention_days=self.retention_days,
        )


@lru_cache
def get_hj212_settings() -> HJ212Settings:
    return HJ212Settings()
