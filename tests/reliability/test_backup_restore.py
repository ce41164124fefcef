"""`riskmap db backup` / `restore` round-trip the storm demo exactly: every table, every file.

The oracle is independent of the module: per-table md5 of the ordered rows computed by SQL here,
and SHA-256 of the files read here. Stored absolute paths are expected to move from the old data
directory to the new one (the one documented difference), which the oracle applies by text.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from PIL import Image
from psycopg import sql

from riskmap.geo.db.backup import BackupError, backup, restore
from riskmap.geo.reports import ReportInput, check_photo, create
from tests.conftest import clone_database, drop_database, make_scratch_dir

_made: list[str] = []


def _empty_database(cluster) -> str:
    name = f"t_restore_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(cluster.url_for("postgres"), autocommit=True) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = cluster.url_for(name)
    _made.append(url)
    return url


def table_checksums(url: str, replace: list[tuple[str, str]] | None = None) -> dict[str, str]:
    """md5 of every table's rows in public, ordered, with text replacements applied to each row."""
    with psycopg.connect(url) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
        ]
        out = {}
        for table in tables:
            row = sql.SQL("t::text")
            for old, new in replace or []:
                row = sql.SQL("replace({}, {}, {})").format(row, sql.Literal(old), sql.Literal(new))
            query = sql.SQL(
                "SELECT count(*), md5(coalesce(string_agg(r, E'\\n' ORDER BY r), ''))"
                " FROM (SELECT {} AS r FROM {} t) x"
            ).format(row, sql.Identifier(table))
            out[table] = conn.execute(query).fetchone()
        seqs = conn.execute(
            "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'"
            " ORDER BY 1"
        ).fetchall()
        out["<sequences>"] = seqs
    return out


def file_hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def source(pg_cluster, storm_url):
    """A copy of the storm with its grid files moved into a data dir of its own, one field
    report with a photo, and the DEM left outside the data dir (an external file)."""
    url = clone_database(pg_cluster, storm_url, "t_backup")
    data_dir = make_scratch_dir("bk-src-") / "data"
    with psycopg.connect(url) as conn:
        grids = [r[0] for r in conn.execute("SELECT DISTINCT path FROM grid_file")]
        assert grids, "the storm has grid files"
        old_root = Path(grids[0]).parents[4]  # <data>/grids/YYYY/MM/DD/file
        for g in grids:
            target = data_dir / Path(g).relative_to(old_root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(g, target)
        conn.execute(
            "UPDATE grid_file SET path = replace(path, %s, %s)", [str(old_root), str(data_dir)]
        )
        dem = conn.execute("SELECT path FROM raster_layer WHERE kind = 'dem' LIMIT 1").fetchone()
        code, lon, lat = conn.execute(
            "SELECT code, ST_X(label_point), ST_Y(label_point) FROM admin_unit"
            " WHERE level = 'village' ORDER BY code LIMIT 1"
        ).fetchone()
        conn.execute(
            "INSERT INTO app_user (name, role) VALUES ('bk-reporter', 'reporter')"
            " ON CONFLICT DO NOTHING"
        )
        conn.commit()
        body = ReportInput(
            kind="flood",
            lon=lon,
            lat=lat,
            observed_at=datetime.now(UTC) - timedelta(hours=1),
            text=f"水淹 {code}",
        )
        create(conn, body, "bk-reporter", [check_photo(_png(), 1, "a.png")], data_dir)
        conn.commit()
    (data_dir / "secret.key").write_bytes(b"not-a-real-key\n")
    yield url, data_dir, Path(dem[0])
    drop_database(pg_cluster, url)
    for made in _made:
        drop_database(pg_cluster, made)
    shutil.rmtree(data_dir.parent, ignore_errors=True)


def test_round_trip_into_new_database_and_data_dir(pg_cluster, source) -> None:
    src_url, src_data, dem = source
    scratch = make_scratch_dir("bk-")
    archive = scratch / "riskmap.tar"
    made = backup(src_url, src_data, archive)
    assert not made.missing and not made.with_secrets
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "secrets/secret.key" not in names  # only with --with-secrets

    dst_url, dst_data = _empty_database(pg_cluster), scratch / "restored"
    result = restore(archive, dst_url, dst_data)
    assert result.rewritten_paths > 0 and not result.secret_restored
    assert any("key" in n for n in result.notes)

    # tables: identical once old absolute paths are read as the new ones
    external_old = str(dem.parent)
    external_new = str(dst_data / "external" / str(dem.parent).lstrip("/"))
    expect = table_checksums(
        src_url, [(str(src_data) + "/", str(dst_data) + "/"), (external_old, external_new)]
    )
    got = table_checksums(dst_url)
    assert got == expect
    assert expect["field_report_photo"][0] == 1 and expect["grid_file"][0] > 0

    # files: every file the source points at, byte for byte, at its new place
    src_files = {k: v for k, v in file_hashes(src_data).items() if k != "secret.key"}
    dst_files = file_hashes(dst_data)
    for rel, digest in src_files.items():
        assert dst_files.pop(rel) == digest, rel
    assert dst_files.pop(f"external{dem}") == hashlib.sha256(dem.read_bytes()).hexdigest()
    with psycopg.connect(dst_url) as conn:
        for (path,) in conn.execute(
            "SELECT path FROM grid_file UNION SELECT path FROM raster_layer"
        ):
            assert Path(path).is_file() and Path(path).is_relative_to(dst_data), path
    assert all(k.startswith("external/") for k in dst_files), dst_files  # nothing else

    # a second restore onto the now non-empty database is refused without --force
    with pytest.raises(BackupError, match=r"not empty.*--force"):
        restore(archive, dst_url, dst_data)
    assert table_checksums(dst_url) == got

    # with secrets, into another data dir, forced over the existing database
    with_key = scratch / "with-key.tar"
    backup(src_url, src_data, with_key, with_secrets=True)
    other = scratch / "other"
    again = restore(with_key, dst_url, other, force=True)
    assert again.secret_restored
    assert (other / "secret.key").read_bytes() == (src_data / "secret.key").read_bytes()
    assert (other / "secret.key").stat().st_mode & 0o777 == 0o600
    expect_other = table_checksums(
        src_url,
        [
            (str(src_data) + "/", str(other) + "/"),
            (external_old, str(other / "external" / external_old.lstrip("/"))),
        ],
    )
    assert table_checksums(dst_url) == expect_other
    shutil.rmtree(scratch, ignore_errors=True)


def test_corrupt_archive_is_refused_naming_the_file(pg_cluster, source) -> None:
    src_url, src_data, _ = source
    scratch = make_scratch_dir("bk-bad-")
    archive = scratch / "riskmap.tar"
    backup(src_url, src_data, archive)
    with tarfile.open(archive) as tar:
        victim = next(m for m in tar.getmembers() if m.name.startswith("files/data/grids/"))
    with archive.open("r+b") as fh:
        fh.seek(victim.offset_data + victim.size // 2)
        byte = fh.read(1)
        fh.seek(-1, 1)
        fh.write(bytes([byte[0] ^ 0xFF]))

    dst_url, dst_data = _empty_database(pg_cluster), scratch / "restored"
    with pytest.raises(BackupError, match=rf"{re.escape(victim.name)}.*corrupt"):
        restore(archive, dst_url, dst_data)
    with psycopg.connect(dst_url) as conn:  # nothing restored, nothing written
        assert (
            conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0]
            == 0
        )
    assert not [p for p in dst_data.rglob("*") if p.is_file()]
    shutil.rmtree(scratch, ignore_errors=True)


def test_cli_backup_and_refused_restore(source) -> None:
    """The commands end with a clear message and exit 1, never a traceback."""
    src_url, src_data, _ = source
    archive = make_scratch_dir("bk-cli-") / "cli.tar"
    env = {**os.environ, "RISKMAP_DATABASE_URL": src_url, "RISKMAP_DATA_DIR": str(src_data)}
    riskmap = str(Path(sys.executable).with_name("riskmap"))
    made = subprocess.run(
        [riskmap, "db", "backup", str(archive)], env=env, capture_output=True, text=True
    )
    assert made.returncode == 0, made.stderr
    assert "backup written" in made.stdout and "--with-secrets" in made.stderr
    refused = subprocess.run(
        [riskmap, "db", "restore", str(archive)], env=env, capture_output=True, text=True
    )
    assert refused.returncode == 1
    message = " ".join(refused.stderr.split())
    assert "not empty" in message and "--force" in message and "cli.tar" in message
    assert "Traceback" not in refused.stderr
    shutil.rmtree(archive.parent, ignore_errors=True)


def test_archive_from_newer_schema_is_refused(pg_cluster, source) -> None:
    src_url, src_data, _ = source
    scratch = make_scratch_dir("bk-new-")
    archive, newer = scratch / "riskmap.tar", scratch / "newer.tar"
    backup(src_url, src_data, archive)
    with tarfile.open(archive) as tar, tarfile.open(newer, "w") as out:
        for member in tar.getmembers():
            data = tar.extractfile(member).read()
            if member.name == "manifest.json":
                manifest = json.loads(data)
                manifest["migrations"].append("9999_from_the_future")
                manifest["migration_head"] = "9999_from_the_future"
                data = json.dumps(manifest).encode()
                member.size = len(data)
            out.addfile(member, io.BytesIO(data))
    dst_url = _empty_database(pg_cluster)
    with pytest.raises(BackupError, match=r"newer riskmap.*9999_from_the_future"):
        restore(newer, dst_url, scratch / "restored")
    shutil.rmtree(scratch, ignore_errors=True)
