"""The embedded default database: a private PostgreSQL + PostGIS cluster on a Unix socket.

Why a private cluster: a bureau can try riskmap on one machine with no database administrator,
and tests get a throwaway server that is real PostGIS, not a mock. PostgreSQL refuses to run as
root, so when riskmap runs as root the cluster is owned and run by an unprivileged account
(Debian's ``postgres``).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import pwd
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

from riskmap.geo.errors import ClusterError, MissingSoftwareError

SOCKET_PORT = 5432
_MAX_SOCKET_PATH = 100  # sun_path is 108 bytes on Linux; keep a margin
_DEBIAN_PG_LIB = Path("/usr/lib/postgresql")
_INSTALL_HINT = "apt-get install postgresql-15 postgresql-15-postgis-3 (Debian 12)"


def traversable_by(path: Path, account: str) -> bool:
    """Can ``account`` reach ``path``? (A clone under /root is not reachable by 'postgres'.)"""
    try:
        owner = pwd.getpwnam(account)
    except KeyError:
        return False
    for parent in path.resolve().parents:
        if not parent.exists():
            continue  # created later by riskmap with a traversable mode
        st = parent.stat()
        if st.st_uid != owner.pw_uid and not st.st_mode & 0o001:
            return False
    return True


def fallback_root(path: Path) -> Path:
    """Where a root-run cluster lives when ``path`` is out of the cluster account's reach."""
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
    return Path("/var/lib/riskmap") / digest / "pg"


@dataclass(frozen=True)
class ClusterStatus:
    """What `riskmap db status` reports."""

    root: Path
    initialised: bool
    running: bool
    pid: int | None
    socket_dir: Path
    url: str


def find_bin_dir(preferred: Path | None = None) -> Path:
    """Locate the server binaries: Debian keeps them off PATH under /usr/lib/postgresql/N/bin."""
    if preferred is not None:
        if not (preferred / "initdb").exists():
            raise MissingSoftwareError(f"no initdb in RISKMAP_PG_BIN_DIR={preferred}")
        return preferred
    candidates = sorted(
        (p for p in _DEBIAN_PG_LIB.glob("*/bin") if (p / "initdb").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    if candidates:
        return candidates[0]
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).resolve().parent
    raise MissingSoftwareError(f"PostgreSQL server is not installed: {_INSTALL_HINT}")


def _share_dir(bin_dir: Path) -> Path:
    out = subprocess.run(
        [str(bin_dir / "pg_config"), "--sharedir"], capture_output=True, text=True, check=False
    )
    if out.returncode == 0 and out.stdout.strip():
        return Path(out.stdout.strip())
    return Path("/usr/share/postgresql") / bin_dir.parent.name


def check_postgis(bin_dir: Path) -> None:
    """Fail early with the package to install, instead of a cryptic CREATE EXTENSION error."""
    share = _share_dir(bin_dir)
    if not (share / "extension" / "postgis.control").exists():
        major = bin_dir.parent.name
        raise MissingSoftwareError(
            f"PostGIS is not installed for PostgreSQL {major}"
            f" (no {share}/extension/postgis.control):"
            f" apt-get install postgresql-{major}-postgis-3"
        )


@dataclass(frozen=True)
class EmbeddedCluster:
    """A PostgreSQL cluster in ``root`` (data in root/data, socket in root/run, log in root/log).

    Parameters
    ----------
    root
        Folder that holds the whole cluster; created on first `init`.
    db_name, superuser
        Database and role created for riskmap (trust authentication on the private socket only).
    run_as
        Account that owns and runs the cluster when the caller is root.
    bin_dir
        Server binaries; found automatically when None.
    fast_unsafe
        Turn off fsync and friends: for throwaway test clusters only.
    tcp_port
        Also listen on 127.0.0.1 at this port, with trust authentication for loopback
        connections (for clients that refuse a socket-only URL, e.g. a benchmark peer); the
        Unix socket then carries this port number too. Takes effect when the cluster is
        created. None (the default): Unix socket only, TCP refused.
    """

    root: Path
    db_name: str = "riskmap"
    superuser: str = "riskmap"
    run_as: str = "postgres"
    bin_dir: Path | None = None
    fast_unsafe: bool = False
    tcp_port: int | None = None

    @property
    def port(self) -> int:
        """The server's port: the TCP port when there is one, else the socket's 5432."""
        return self.tcp_port or SOCKET_PORT

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "log" / "postgresql.log"

    @property
    def socket_dir(self) -> Path:
        """root/run, or a short folder under /tmp when the path would overflow a socket address."""
        preferred = self.root.resolve() / "run"
        if len(str(preferred / f".s.PGSQL.{self.port}")) <= _MAX_SOCKET_PATH:
            return preferred
        digest = hashlib.sha1(str(self.root.resolve()).encode()).hexdigest()[:12]
        return Path("/tmp") / f"riskmap-pg-{digest}"

    @property
    def url(self) -> str:
        """libpq URL of the riskmap database on the private socket."""
        return self.url_for(self.db_name)

    def url_for(self, db_name: str) -> str:
        host = quote(str(self.socket_dir), safe="/")
        return f"postgresql://{self.superuser}@/{db_name}?host={host}&port={self.port}"

    def tcp_url_for(self, db_name: str | None = None) -> str:
        """libpq URL over loopback TCP (only when the cluster was created with ``tcp_port``)."""
        if self.tcp_port is None:
            raise ClusterError(f"the cluster in {self.root} has no TCP port")
        return f"postgresql://{self.superuser}@127.0.0.1:{self.tcp_port}/{db_name or self.db_name}"

    # -- state ---------------------------------------------------------------------------------

    @property
    def initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def pid(self) -> int | None:
        """PID of the live postmaster, or None; a pid file left by a crash does not count."""
        pid_file = self.data_dir / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().splitlines()[0])
        except (FileNotFoundError, IndexError, ValueError, PermissionError):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            return None
        if b"postgres" not in cmdline:
            return None
        return pid

    def status(self) -> ClusterStatus:
        pid = self.pid() if self.initialised else None
        return ClusterStatus(
            root=self.root,
            initialised=self.initialised,
            running=pid is not None,
            pid=pid,
            socket_dir=self.socket_dir,
            url=self.url,
        )

    # -- lifecycle -----------------------------------------------------------------------------

    def up(self, *, timeout: float = 60.0) -> str:
        """Create (first time), start and prepare the database; harmless when already up."""
        with self._lock():
            bin_dir = find_bin_dir(self.bin_dir)
            check_postgis(bin_dir)
            if not self.initialised:
                self._initdb(bin_dir)
            if self.pid() is None:
                self._start(bin_dir, timeout)
            self._create_database()
        return self.url

    def down(self, *, timeout: float = 60.0, mode: str = "fast") -> bool:
        """Stop the cluster (fast shutdown: a checkpoint first; ``mode="immediate"``: none, for
        a cluster about to be deleted); returns False when it was not running."""
        with self._lock():
            if not self.initialised or self.pid() is None:
                return False
            bin_dir = find_bin_dir(self.bin_dir)
            self._run(
                [
                    bin_dir / "pg_ctl",
                    "stop",
                    "-D",
                    self.data_dir,
                    "-m",
                    mode,
                    "-w",
                    "-t",
                    str(int(timeout)),
                ],
                "stop the cluster",
            )
            return True

    def destroy(self) -> None:
        """Stop and delete the cluster: for throwaway test clusters (stopped at once: no
        shutdown checkpoint writing out what is deleted next)."""
        with contextlib.suppress(ClusterError):
            self.down(mode="immediate")
        shutil.rmtree(self.root, ignore_errors=True)
        if self.socket_dir != self.root.resolve() / "run":
            shutil.rmtree(self.socket_dir, ignore_errors=True)

    # -- helpers -------------------------------------------------------------------------------

    def _owner(self) -> pwd.struct_passwd | None:
        """The account to run the server as when we are root, else None (run as ourselves)."""
        if os.geteuid() != 0:
            return None
        try:
            return pwd.getpwnam(self.run_as)
        except KeyError as exc:
            raise ClusterError(
                f"running as root, but the account {self.run_as!r} that should own the cluster does"
                f" not exist (set RISKMAP_PG_RUN_AS, or {_INSTALL_HINT} which creates 'postgres')"
            ) from exc

    def _prepare_dirs(self) -> None:
        owner = self._owner()
        for path in (self.root, self.root / "log", self.socket_dir):
            path.mkdir(parents=True, exist_ok=True)
            os.chmod(path, 0o700)
            if owner is not None:
                os.chown(path, owner.pw_uid, owner.pw_gid)
        if owner is not None:
            self._check_traversable(owner)

    def _check_traversable(self, owner: pwd.struct_passwd) -> None:
        for parent in self.root.resolve().parents:
            mode = parent.stat().st_mode
            if not mode & 0o001 and parent.stat().st_uid != owner.pw_uid:
                raise ClusterError(
                    f"the account {owner.pw_name!r} cannot enter {parent}"
                    f" (mode {oct(mode & 0o777)});"
                    f" the embedded cluster in {self.root} needs it: chmod o+x {parent}"
                )

    def _run(self, argv: Sequence[object], what: str) -> subprocess.CompletedProcess[str]:
        argv = [str(a) for a in argv]
        owner = self._owner()
        if owner is not None:
            argv = ["runuser", "-u", owner.pw_name, "--", *argv]
        proc = subprocess.run(argv, capture_output=True, text=True, check=False, cwd="/")
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
            raise ClusterError(f"could not {what} in {self.root}: " + " | ".join(tail))
        return proc

    def _initdb(self, bin_dir: Path) -> None:
        self._prepare_dirs()
        if self.data_dir.exists() and any(self.data_dir.iterdir()):
            raise ClusterError(f"{self.data_dir} exists but holds no cluster; move it away first")
        self._run(
            [
                bin_dir / "initdb",
                "-D",
                self.data_dir,
                "-U",
                self.superuser,
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--auth-local=trust",
                "--auth-host=" + ("trust" if self.tcp_port else "reject"),
                "--no-instructions",
            ],
            "create the cluster (initdb)",
        )
        listen = "127.0.0.1" if self.tcp_port else ""
        conf = [
            "# riskmap embedded cluster: private Unix socket"
            + (f", loopback TCP port {self.tcp_port}" if self.tcp_port else ", no TCP"),
            f"listen_addresses = '{listen}'",
            f"unix_socket_directories = '{self.socket_dir}'",
            "unix_socket_permissions = 0700",
            "timezone = 'UTC'",
            "log_timezone = 'UTC'",
            "shared_buffers = 256MB",
            "max_connections = 100",
        ]
        if self.tcp_port:
            conf.append(f"port = {self.tcp_port}")
        if self.fast_unsafe:
            conf += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
        self._append_conf(conf)

    def _append_conf(self, lines: list[str]) -> None:
        conf_path = self.data_dir / "postgresql.conf"
        with conf_path.open("a", encoding="utf-8") as fh:
            fh.write("\n" + "\n".join(lines) + "\n")

    def _start(self, bin_dir: Path, timeout: float) -> None:
        self._prepare_dirs()
        self._remove_stale_locks()
        argv = [
            bin_dir / "pg_ctl",
            "start",
            "-D",
            self.data_dir,
            "-l",
            self.log_file,
            "-w",
            "-t",
            str(int(timeout)),
            "-s",
        ]
        # After a crash the old server's children may hold its shared memory for a moment
        # ("pre-existing shared memory block is still in use"): give them a few seconds to exit.
        for attempt in range(10):
            try:
                self._run(argv, "start the cluster")
                return
            except ClusterError as exc:
                if attempt == 9 or "shared memory" not in self._log_tail():
                    raise ClusterError(f"{exc} (see {self.log_file})") from exc
                time.sleep(1.0)

    def _remove_stale_locks(self) -> None:
        """Called only when no live postmaster owns the cluster: a crash left its lock files."""
        stale = [self.data_dir / "postmaster.pid", *self.socket_dir.glob(".s.PGSQL.*.lock")]
        for path in stale:
            path.unlink(missing_ok=True)

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def _create_database(self) -> None:
        deadline = time.monotonic() + 30
        while True:
            try:
                conn = psycopg.connect(self.url_for("postgres"), autocommit=True, connect_timeout=5)
                break
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise ClusterError(
                        f"cluster in {self.root} does not accept connections: {exc}"
                    ) from exc
                time.sleep(0.2)
        with conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (self.db_name,)
            ).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.db_name)))

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """Serialise `up`/`down` between processes (two `db up` at once must not race initdb)."""
        lock_dir = self.root.parent
        lock_dir.mkdir(parents=True, exist_ok=True)
        lock_path = lock_dir / f".{self.root.name}.lock"
        with lock_path.open("w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
