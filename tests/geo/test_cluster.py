"""The embedded cluster: created, started, stopped, restarted after a crash, as root and not."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import time
from pathlib import Path

import psycopg
import pytest

from riskmap.geo.db.cluster import EmbeddedCluster, check_postgis, find_bin_dir
from riskmap.geo.errors import MissingSoftwareError
from tests.conftest import make_scratch_dir

IS_ROOT = os.geteuid() == 0


@pytest.fixture
def scratch() -> Path:
    path = make_scratch_dir("riskmap-cluster-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_lifecycle_and_crash_recovery(scratch: Path) -> None:
    cluster = EmbeddedCluster(scratch / "pg", fast_unsafe=True)
    st = cluster.status()
    assert not st.initialised and not st.running
    try:
        url = cluster.up()
        st = cluster.status()
        assert st.initialised and st.running and st.pid
        if IS_ROOT:  # PostgreSQL refuses root: the data must belong to the unprivileged account
            assert (scratch / "pg" / "data").stat().st_uid == pwd.getpwnam("postgres").pw_uid
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT current_database()").fetchone()[0] == "riskmap"
            assert conn.execute("SHOW listen_addresses").fetchone()[0] == ""  # no TCP port taken

        assert cluster.up() == url and cluster.status().pid == st.pid  # second up is harmless

        os.kill(st.pid, signal.SIGKILL)  # a crash leaves postmaster.pid behind
        deadline = time.monotonic() + 10
        while cluster.status().running and time.monotonic() < deadline:
            time.sleep(0.1)
        assert (scratch / "pg" / "data" / "postmaster.pid").exists()
        assert not cluster.status().running
        cluster.up()
        assert cluster.status().running
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT 1").fetchone()[0] == 1

        assert cluster.down() is True
        assert not cluster.status().running
        assert cluster.down() is False
    finally:
        cluster.destroy()


def test_long_paths_fall_back_to_a_short_socket_dir(scratch: Path) -> None:
    deep = scratch / ("x" * 60) / ("y" * 40) / "pg"
    cluster = EmbeddedCluster(deep)
    assert str(cluster.socket_dir).startswith("/tmp/riskmap-pg-")
    assert len(str(cluster.socket_dir)) < 40


def test_missing_postgis_names_the_package(tmp_path: Path) -> None:
    real = find_bin_dir()
    fake = tmp_path / "15" / "bin"
    fake.mkdir(parents=True)
    (tmp_path / "share" / "extension").mkdir(parents=True)
    pg_config = fake / "pg_config"
    pg_config.write_text(f"#!/bin/sh\necho {tmp_path / 'share'}\n")
    pg_config.chmod(0o755)
    (fake / "initdb").symlink_to(real / "initdb")
    with pytest.raises(MissingSoftwareError, match="apt-get install postgresql-15-postgis-3"):
        check_postgis(fake)
    check_postgis(real)  # the real installation has it


def test_missing_server_binaries_are_reported(tmp_path: Path) -> None:
    with pytest.raises(MissingSoftwareError, match="no initdb"):
        find_bin_dir(tmp_path)


def _cluster_report(scratch: Path) -> str:
    """Start, query and stop a cluster as the current account; 'euid user running'."""
    cluster = EmbeddedCluster(scratch / "pg", fast_unsafe=True)
    url = cluster.up()
    with psycopg.connect(url) as conn:
        user = conn.execute("SELECT current_user").fetchone()[0]
    running = cluster.status().running
    cluster.down()
    return f"{os.geteuid()} {user} {running}"


def test_non_root_user_runs_its_own_cluster(scratch: Path) -> None:
    """As root the cluster runs as 'postgres'; an ordinary account runs one as itself.

    Run as root (CI), a child process drops to the unprivileged account first (the interpreter
    may live where that account cannot exec it, so fork instead of spawning a new one).
    """
    if not IS_ROOT:  # already an ordinary account: the cluster is ours
        assert _cluster_report(scratch) == f"{os.geteuid()} riskmap True"
        assert (scratch / "pg" / "data").stat().st_uid == os.geteuid()
        return
    owner = pwd.getpwnam("postgres")
    os.chown(scratch, owner.pw_uid, owner.pw_gid)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        code = 1
        try:
            os.close(read_end)
            os.setgid(owner.pw_gid)
            os.setuid(owner.pw_uid)
            os.write(write_end, _cluster_report(scratch).encode())
            code = 0
        except BaseException as exc:  # report anything to the parent, never return into pytest
            os.write(write_end, f"error: {exc!r}".encode())
        finally:
            os._exit(code)
    os.close(write_end)
    _, status = os.waitpid(pid, 0)
    with os.fdopen(read_end) as fh:
        report = fh.read()
    assert os.waitstatus_to_exitcode(status) == 0, report
    assert report == f"{owner.pw_uid} riskmap True"
    assert (scratch / "pg" / "data").stat().st_uid == owner.pw_uid


def test_checkout_out_of_reach_of_the_cluster_account_moves_the_cluster(tmp_path: Path) -> None:
    """A clone under a private folder (e.g. /root) cannot hold a cluster run by 'postgres' (only
    root hands the cluster to that account; an ordinary user keeps it in the checkout)."""
    from riskmap.geo.db.cluster import fallback_root, traversable_by
    from riskmap.geo.settings import Settings

    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    assert not traversable_by(private / "data" / "pg", "postgres")
    settings = Settings(data_dir=private / "data")
    root = settings.cluster().root
    if not IS_ROOT:
        assert root == private / "data" / "pg"
        return
    assert root == fallback_root(private / "data" / "pg")
    assert traversable_by(root, "postgres")
    reachable = make_scratch_dir("riskmap-reach-")
    try:
        assert Settings(data_dir=reachable).cluster().root == reachable / "pg"
    finally:
        shutil.rmtree(reachable, ignore_errors=True)
