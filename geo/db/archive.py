"""The backup archive's format: member names, the manifest, SHA-256 checks and safe extraction.

Kept apart from :mod:`riskmap.geo.db.backup` (which talks to PostgreSQL and the data directory)
so that what an archive *is* — and what a restore refuses before touching anything — reads in one
place.
"""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
from pathlib import Path

from riskmap.geo.errors import RiskmapError

FORMAT = 1
MANIFEST = "manifest.json"
DUMP = "database.dump"
SECRET = "secrets/secret.key"
_CHUNK = 1 << 20


class BackupError(RiskmapError):
    """A backup or restore cannot proceed; the message names the file at fault."""


def _member_for(stored: str, data_dir: Path) -> tuple[str, Path]:
    """Archive member name and file on disk for a path as the database stores it."""
    path = Path(stored)
    if not path.is_absolute():
        path = data_dir / path
    path = Path(os.path.normpath(path))
    try:
        rel = path.relative_to(data_dir)
        return f"files/data/{rel.as_posix()}", path
    except ValueError:
        return f"files/external/{path.as_posix().lstrip('/')}", path


def _target_for(member: str, data_dir: Path) -> Path:
    """Where a file member goes under the (new) data directory; refuses escaping names."""
    if member.startswith("files/data/"):
        rel = member[len("files/data/") :]
    elif member.startswith("files/external/"):
        rel = "external/" + member[len("files/external/") :]
    else:
        raise BackupError(f"archive member {member}: not a data file")
    parts = Path(rel).parts
    if not rel or ".." in parts or Path(rel).is_absolute():
        raise BackupError(f"archive member {member}: unsafe path")
    return data_dir / rel


def read_manifest(archive: Path) -> dict:
    try:
        with tarfile.open(archive, "r:") as tar:
            fh = tar.extractfile(MANIFEST)
            if fh is None:
                raise KeyError(MANIFEST)
            manifest = json.loads(fh.read())
    except FileNotFoundError as exc:
        raise BackupError(f"{archive}: no such archive") from exc
    except KeyError as exc:
        raise BackupError(f"{archive}: not a riskmap backup (no {MANIFEST})") from exc
    except (tarfile.TarError, json.JSONDecodeError, OSError) as exc:
        raise BackupError(f"{archive}: unreadable archive: {exc}") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{archive}: unsupported backup format {manifest.get('format')!r}")
    return manifest


def _extract_verified(archive: Path, manifest: dict, into: Path) -> dict[str, Path]:
    """Extract every listed member into ``into``, checking size and SHA-256; names the bad one."""
    members: dict[str, dict] = manifest["members"]
    out: dict[str, Path] = {}
    try:
        with tarfile.open(archive, "r:") as tar:
            for info in tar:
                if info.name == MANIFEST:
                    continue
                if info.name not in members:
                    raise BackupError(f"{archive}: member {info.name} is not in the manifest")
                if not info.isfile():
                    raise BackupError(f"{archive}: member {info.name} is not a regular file")
                expect = members[info.name]
                dest = into / f"{len(out):06d}"
                h = hashlib.sha256()
                src = tar.extractfile(info)
                assert src is not None
                with dest.open("wb") as fh:
                    while chunk := src.read(_CHUNK):
                        h.update(chunk)
                        fh.write(chunk)
                if h.hexdigest() != expect["sha256"] or info.size != expect["bytes"]:
                    raise BackupError(
                        f"{archive}: member {info.name} is corrupt (SHA-256 {h.hexdigest()}"
                        f" does not match the manifest's {expect['sha256']})"
                    )
                out[info.name] = dest
    except tarfile.TarError as exc:
        raise BackupError(f"{archive}: unreadable archive: {exc}") from exc
    absent = sorted(set(members) - set(out))
    if absent:
        raise BackupError(f"{archive}: member {absent[0]} listed in the manifest is missing")
    return out
