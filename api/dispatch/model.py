"""What the runner hands an adapter and what it gets back; adapters never touch the database."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Message:
    """One claimed outbox row, ready to send.

    ``payload`` is the row's JSON as ``geo.warnings.delivery`` wrote it (texts, colour, level,
    terminal endpoint and protocol or phone, ...). ``key_id``/``secret`` are the terminal's
    current signing key (broadcast rows only; ``None`` otherwise).
    """

    id: int
    warning_id: int | None  # None: an SMS about a response task (payload kind response_task)
    version: int | None
    channel: str  # broadcast | sms | mqtt | cap-feed
    target: str  # terminal id, phone or topic
    payload: dict[str, Any]
    idempotency_key: str
    attempt: int  # 1 for the first try
    key_id: str | None = None
    secret: bytes | None = None


@dataclass(frozen=True)
class Outcome:
    """How one attempt went. Not delivered and ``retry``: try again later (timeouts, 5xx, 429,
    a broker away); not delivered and not ``retry``: refused for good (dead at once)."""

    delivered: bool
    retry: bool = True
    status_code: int | None = None
    error: str | None = None
    provider_ref: str | None = None  # the gateway's message id(s), space-separated
    retry_after: float | None = None  # seconds, when the receiver said so (Retry-After)
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Links:
    """Where receivers fetch what a message points at (absolute URLs from ``public_url``)."""

    base_url: str  # e.g. http://127.0.0.1:8000 (no trailing slash)

    def cap(self, warning_id: int, version: int) -> str:
        return f"{self.base_url}/api/warnings/{warning_id}.cap?version={version}"

    def audio(self, outbox_id: int, fmt: str = "wav") -> str:
        return f"{self.base_url}/api/broadcasts/{outbox_id}/audio.{fmt}"

    def ack(self, outbox_id: int) -> str:
        return f"{self.base_url}/api/broadcasts/{outbox_id}/ack"


class Adapter(Protocol):
    """Delivers one message; must not raise for delivery failures (return an Outcome)."""

    async def deliver(self, msg: Message) -> Outcome: ...

    async def aclose(self) -> None: ...
