"""Back up and restore an installation: the database (``pg_dump -Fc``) and the files it points at.

One uncompressed tar archive holds

* ``manifest.json``: riskmap version, migration ids and head, creation time, the source data
  directory, and for every member its SHA-256, size and (for files) the path the database stored;
* ``database.dump``: ``pg_dump --format=custom`` of the whole database (already compressed);
* ``files/data/<relative>``: files under the data directory the database refers to: rain grids kept
  for recompute (``grid_file.path``), catalogued rasters (``raster_layer.path``) and field-report
  photos (``field_report_photo.path``, stored relative to the data directory);
* ``files/external/<absolute path>``: such files that live outside the data directory (e.g. a DEM
  generated elsewhere);
* ``secrets/secret.key``: only with ``with_secrets``: the installation key that encrypts the
  broadcast terminals' signing secrets. Without it the restored terminals' secrets can be decrypted
  only if the target installation uses the same key (RISKMAP_SECRET_KEY or data_dir/secret.key).

``grid_file.path`` and ``raster_layer.path`` hold absolute paths. Rather than change the schema, a
restore into another data directory rewrites those two columns: a file that was under the old data
directory goes to the same relative place under the new one, an external file to
``<data_dir>/external/<its old absolute path>``. Photo paths are relative and need nothing.

A restore verifies every member's SHA-256 before it touches the database or the data directory,
refuses an archive whose schema is newer than this riskmap, and refuses to replace a database that
holds data (or files that differ) unless forced.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import psycopg
from psycopg import sql

from riskmap.geo.db.archive import (
    DUMP,
    FORMAT,
    MANIFEST,
    SECRET,
    BackupError,
    _extract_verified,
    _member_for,
    _target_for,
    read_manifest,
)
from riskmap.geo.db.cluster import _DEBIAN_PG_LIB, find_bin_dir
from riskmap.geo.db.migrate import MIGRATIONS
from riskmap.geo.errors import RiskmapError
from riskmap.geo.filehash import file_sha256

# Columns holding absolute paths that a restore into another data directory rewrites.
ABSOLUTE_PATH_COLUMNS = (
    ("grid_file", "path"),
    ("raster_layer", "path"),
    ("ws_site_downstream_path", "dem_path"),  # the DEM a dam's flow path was traced on
)
RELATIVE_PATH_COLUMNS = (("field_report_photo", "path"),)


@dataclass
class BackupResult:
    archive: Path
    files: int
    bytes: int
    migration_head: str | None
    with_secrets: bool
    missing: list[str] = field(default_factory=list)  # paths in the database with no file


@dataclass
class RestoreResult:
    files: int
    rewritten_paths: int
    migration_head: str | None
    secret_restored: bool
    notes: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------- helpers


def _server_major(url: str) -> int:
    try:
        with psycopg.connect(url) as conn:
            return int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000
    except psycopg.Error as exc:
        raise BackupError(f"cannot connect to the database: {exc}") from exc


def client_bin_dir(url: str, preferred: Path | None = None) -> Path:
    """The pg_dump/pg_restore of the server's major version (Debian keeps them off PATH)."""
    major = _server_major(url)
    candidates = []
    if preferred is not None:
        candidates.append(preferred)
    candidates.append(_DEBIAN_PG_LIB / str(major) / "bin")
    for directory in candidates:
        if (directory / "pg_dump").exists() and (directory / "pg_restore").exists():
            return directory
    try:
        directory = find_bin_dir()
    except RiskmapError:
        on_path = shutil.which("pg_dump")
        if not on_path:
            raise BackupError(
                f"pg_dump for PostgreSQL {major} not found:"
                f" apt-get install postgresql-client-{major}"
            ) from None
        directory = Path(on_path).resolve().parent
    return directory


def _run(argv: list[str], what: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{what} failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")


def _applied_migrations(conn: psycopg.Connection) -> list[str]:
    exists = conn.execute("SELECT to_regclass('public._yoyo_migration') IS NOT NULL").fetchone()[0]
    if not exists:
        return []
    rows = conn.execute("SELECT migration_id FROM _yoyo_migration ORDER BY migration_id").fetchall()
    return [r[0] for r in rows]


def _known_migrations() -> set[str]:
    return {p.name[: -len(".sql")] for p in MIGRATIONS.glob("*.sql") if ".rollback" not in p.name}


def _table_exists(conn: psycopg.Connection, table: str) -> bool:
    return conn.execute("SELECT to_regclass(%s) IS NOT NULL", [f"public.{table}"]).fetchone()[0]


def _referenced_paths(conn: psycopg.Connection) -> list[tuple[str, str, str]]:
    """(table, column, stored path) of every file the database points at."""
    found: list[tuple[str, str, str]] = []
    for table, column in ABSOLUTE_PATH_COLUMNS + RELATIVE_PATH_COLUMNS:
        if not _table_exists(conn, table):
            continue
        query = sql.SQL("SELECT DISTINCT {c} FROM {t} ORDER BY 1").format(
            c=sql.Identifier(column), t=sql.Identifier(table)
        )
        found += [(table, column, r[0]) for r in conn.execute(query)]
    return found


# ----------------------------------------------------------------------------- backup


def backup(
    url: str,
    data_dir: Path,
    archive: Path,
    *,
    with_secrets: bool = False,
    secret_file: Path | None = None,
    bin_dir: Path | None = None,
) -> BackupResult:
    """Write ``archive``: the database dump, the files it points at, a manifest of SHA-256s."""
    data_dir = Path(os.path.normpath(data_dir.resolve()))
    archive = Path(archive)
    if archive.exists() and archive.is_dir():
        raise BackupError(f"{archive}: is a directory, expected an archive file name")
    secret_file = secret_file or data_dir / "secret.key"
    if with_secrets and not secret_file.is_file():
        raise BackupError(
            f"{secret_file}: no installation key file to include (with RISKMAP_SECRET_KEY set,"
            " keep that value yourself; it is never written to an archive)"
        )
    tools = client_bin_dir(url, bin_dir)
    with psycopg.connect(url) as conn:
        migrations = _applied_migrations(conn)
        referenced = _referenced_paths(conn)

    archive.parent.mkdir(parents=True, exist_ok=True)
    part = archive.with_name(archive.name + ".part")
    members: dict[str, dict] = {}
    missing: list[str] = []
    total = 0
    with tempfile.TemporaryDirectory(prefix="riskmap-backup-") as tmp:
        dump = Path(tmp) / DUMP
        _run(
            [str(tools / "pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
             f"--file={dump}", f"--dbname={url}"],
            "pg_dump",
        )  # fmt: skip
        try:
            with tarfile.open(part, "w", format=tarfile.PAX_FORMAT) as tar:

                def add(member: str, path: Path, **extra: object) -> None:
                    nonlocal total
                    digest = file_sha256(path)
                    size = path.stat().st_size
                    tar.add(path, arcname=member, recursive=False)
                    members[member] = {"sha256": digest, "bytes": size, **extra}
                    total += size

                add(DUMP, dump)
                for table, column, stored in referenced:
                    member, path = _member_for(stored, data_dir)
                    if not path.is_file():
                        missing.append(f"{table}.{column}: {stored}")
                        continue
                    if member in members:
                        members[member]["refs"].append(f"{table}.{column}")
                        continue
                    add(member, path, stored=stored, refs=[f"{table}.{column}"])
                if with_secrets:
                    add(SECRET, secret_file)
                manifest = {
                    "format": FORMAT,
                    "riskmap_version": metadata.version("riskmap"),
                    "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "migrations": migrations,
                    "migration_head": migrations[-1] if migrations else None,
                    "data_dir": str(data_dir),
                    "with_secrets": with_secrets,
                    "missing": missing,
                    "members": members,
                }
                body = json.dumps(manifest, indent=2, ensure_ascii=False).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size = len(body)
                info.mtime = int(datetime.now(UTC).timestamp())
                tar.addfile(info, io.BytesIO(body))
            os.replace(part, archive)
        finally:
            part.unlink(missing_ok=True)
    return BackupResult(
        archive=archive,
        files=len(members) - 1,
        bytes=total,
        migration_head=migrations[-1] if migrations else None,
        with_secrets=with_secrets,
        missing=missing,
    )


# ----------------------------------------------------------------------------- restore


def _data_tables(conn: psycopg.Connection) -> list[str]:
    """Tables in the database that hold rows (riskmap's own, not PostGIS's or yoyo's)."""
    tables = [
        r[0]
        for r in conn.execute(
            """SELECT c.oid::regclass::text FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE c.relkind IN ('r', 'p')
                 AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                 AND n.nspname NOT LIKE 'pg_toast%%'
                 AND c.relname NOT LIKE '\\_yoyo%%' AND c.relname <> 'spatial_ref_sys'
                 AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid
                                 AND d.deptype = 'e')"""
        )
    ]
    probe = "SELECT EXISTS (SELECT 1 FROM {})"
    return [t for t in tables if conn.execute(sql.SQL(probe).format(sql.SQL(t))).fetchone()[0]]


def _wipe(conn: psycopg.Connection) -> None:
    """Drop every non-system schema (public recreated): the dump then restores into nothing."""
    schemas = [
        r[0]
        for r in conn.execute(
            """SELECT nspname FROM pg_namespace WHERE nspname NOT IN ('pg_catalog',
               'information_schema') AND nspname NOT LIKE 'pg\\_%%'"""
        )
    ]
    for name in schemas:
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))
    # extensions whose objects lived elsewhere (none expected) would survive: drop them too
    for (name,) in conn.execute("SELECT extname FROM pg_extension WHERE extname <> 'plpgsql'"):
        conn.execute(sql.SQL("DROP EXTENSION IF EXISTS {} CASCADE").format(sql.Identifier(name)))
    conn.execute("CREATE SCHEMA public")


def restore(
    archive: Path,
    url: str,
    data_dir: Path,
    *,
    force: bool = False,
    restore_secret: bool = True,
    secret_file: Path | None = None,
    bin_dir: Path | None = None,
) -> RestoreResult:
    """Restore ``archive`` into the database at ``url`` and the files into ``data_dir``."""
    archive = Path(archive)
    data_dir = Path(os.path.normpath(data_dir.resolve()))
    manifest = read_manifest(archive)
    notes: list[str] = []

    unknown = [m for m in manifest.get("migrations", []) if m not in _known_migrations()]
    if unknown:
        raise BackupError(
            f"{archive}: made by a newer riskmap ({manifest.get('riskmap_version')}, schema"
            f" {manifest.get('migration_head')}); this one does not know migration(s)"
            f" {', '.join(unknown)}: upgrade riskmap first"
        )

    tools = client_bin_dir(url, bin_dir)
    with psycopg.connect(url) as conn:
        holding = _data_tables(conn)
    if holding and not force:
        shown = ", ".join(holding[:5]) + (" …" if len(holding) > 5 else "")
        raise BackupError(
            f"the database is not empty ({len(holding)} table(s) hold rows: {shown});"
            f" restoring {archive} would replace it: use --force"
        )

    data_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".restore-", dir=data_dir) as tmp:
        extracted = _extract_verified(archive, manifest, Path(tmp))

        # files: where each goes, and whether something different is already there
        placements: list[tuple[Path, Path, str]] = []
        rewrites: dict[str, str] = {}
        secret_target = secret_file or data_dir / "secret.key"
        for member, info in manifest["members"].items():
            if member == DUMP:
                continue
            if member == SECRET:
                if restore_secret:
                    placements.append((extracted[member], secret_target, info["sha256"]))
                continue
            target = _target_for(member, data_dir)
            placements.append((extracted[member], target, info["sha256"]))
            stored = info.get("stored", "")
            if Path(stored).is_absolute() and stored != str(target):
                rewrites[stored] = str(target)
        clashes = [t for _, t, digest in placements if t.exists() and file_sha256(t) != digest]
        if clashes and not force:
            raise BackupError(
                f"{clashes[0]}: exists in the data directory with other content"
                f" ({len(clashes)} file(s)); restoring {archive} would replace it: use --force"
            )

        # database: into an empty one (pg_restore creates the extensions and the schema)
        with psycopg.connect(url, autocommit=True) as conn:
            if force:
                with conn.transaction():
                    _wipe(conn)
        _run(
            [str(tools / "pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
             "--single-transaction", f"--dbname={url}", str(extracted[DUMP])],
            f"pg_restore of {archive}",
        )  # fmt: skip
        rewritten = 0
        if rewrites:
            with psycopg.connect(url) as conn, conn.transaction():
                for table, column in ABSOLUTE_PATH_COLUMNS:
                    if not _table_exists(conn, table):
                        continue
                    query = sql.SQL("UPDATE {t} SET {c} = %s WHERE {c} = %s").format(
                        t=sql.Identifier(table), c=sql.Identifier(column)
                    )
                    for old, new in rewrites.items():
                        rewritten += conn.execute(query, [new, old]).rowcount

        for source, target, _ in placements:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)  # same file system: tmp is inside data_dir
            if target == secret_target:
                os.chmod(target, 0o600)

    secret_restored = SECRET in manifest["members"] and restore_secret
    if not manifest.get("with_secrets"):
        notes.append(
            "the archive holds no installation key: broadcast terminals' signing secrets can be"
            " decrypted only if this installation uses the key of the one backed up"
            " (RISKMAP_SECRET_KEY, or its data_dir/secret.key copied by hand)"
        )
    if manifest.get("missing"):
        notes.append(f"{len(manifest['missing'])} file(s) were already missing at backup time")
    return RestoreResult(
        files=len(placements),
        rewritten_paths=rewritten,
        migration_head=manifest.get("migration_head"),
        secret_restored=secret_restored,
        notes=notes,
    )
