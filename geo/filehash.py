"""The SHA-256 of a file, streamed: the one digest ingest, grid refreshes, risk-map inputs and
backups record and compare."""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of ``path``'s bytes (read in blocks, never whole into memory)."""
    with Path(path).open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()
