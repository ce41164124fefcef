"""`riskmap ingest run`: watch the drop folder and poll HTTP feeds, forever or once.

One failing feed never stops the others: fetches retry with exponential backoff (tenacity), a
source that still fails is logged and tried again at its next interval, and a file that cannot
be read is moved to ``rejected/`` with its reason, not retried in a loop.
"""

from __future__ import annotations

import logging
import re
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
from cryptography import x509
from pydantic import SecretStr
from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)
from watchfiles import watch

from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.ingest.links import LinkRefusedError, allowed_origins, get_within
from riskmap.ingest.pipeline import Summary, heartbeat, ingest_file
from riskmap.ingest.sl323db.poll import poll_database
from riskmap.ingest.sources import DatabaseSource, Source

SQL = SqlFiles("riskmap.ingest.sql")

log = logging.getLogger("riskmap.ingest.runner")
_SKIP_SUFFIXES = (".part", ".tmp", ".partial", ".crdownload")


def _file_name(url: str, default: str) -> str:
    """The last segment of ``url``'s path as a plain file name for the downloads folder: a
    remote feed names its links, so separators, dots at the start, NUL and other odd characters
    are replaced (``..%2F``, ``%00`` must neither climb out of the folder nor stop the runner)."""
    name = re.sub(r"[^\w.-]", "_", Path(httpx.URL(url).path).name).lstrip(".")
    return name[:100] or default


def _retryable(exc: BaseException) -> bool:
    """Network trouble and 5xx/429 answers are worth another try; 4xx are not."""
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code >= 500 or exc.response.status_code == 429
    return isinstance(exc, httpx.TransportError)


@dataclass
class PollState:
    """What the runner remembers per source between polls."""

    next_due: float = 0.0
    etag: str | None = None
    last_modified: str | None = None
    failures: int = 0


@dataclass
class Runner:
    """Drop folder + pollers around :func:`riskmap.ingest.pipeline.ingest_file`."""

    database_url: str
    data_dir: Path
    inbox: Path
    sources: list[Source | DatabaseSource] = field(default_factory=list)
    # passwords of the database sources by name (RISKMAP_SOURCE_PASSWORDS)
    passwords: dict[str, SecretStr] = field(default_factory=dict, repr=False)
    on_summary: Callable[[Summary], None] = lambda _s: None
    # called after a pass that loaded new data (e.g. the CLI runs the rules: a rain grid landing
    # becomes an auto-issued warning without waiting for anyone)
    after_loaded: Callable[[list[Summary]], None] = lambda _s: None
    backoff_s: float = 1.0  # first retry wait; doubles per attempt (max 60 s)
    trusted_certs: tuple[x509.Certificate, ...] = ()  # may sign CAP (RISKMAP_CAP_TRUSTED_CERTS)
    state: dict[str, PollState] = field(default_factory=dict)
    # the after-load step is owed at start (a runner killed between a file's commit and its
    # rules finds the file already ingested when it restarts, and would never run them) and
    # after a pass that failed or could not reach the database; the next pass runs it
    _after_owed: bool = field(default=True, init=False, repr=False)

    def __post_init__(self) -> None:
        for sub in ("", "archive", "rejected"):
            (self.inbox / sub).mkdir(parents=True, exist_ok=True)

    # -- drop folder ---------------------------------------------------------------------------

    def pending_files(self) -> list[Path]:
        """Complete files waiting in the inbox, oldest first (partial uploads are skipped).
        Symbolic links are listed too, to be refused unread (``_refused_link``)."""
        files = [
            p
            for p in self.inbox.iterdir()
            if (p.is_symlink() or p.is_file())
            and not p.name.startswith(".")
            and not p.name.endswith(_SKIP_SUFFIXES)
        ]
        return sorted(files, key=lambda p: (p.lstat().st_mtime, p.name))

    @staticmethod
    def _refused_link(path: Path) -> Summary | None:
        """A symbolic link in the drop folder is refused without reading what it points to:
        whoever may drop files must not make the service read others (keys, the database's
        files, another county's data) and load or quarantine their content."""
        if not path.is_symlink():
            return None
        log.warning("refused %s: a symbolic link; only files dropped in are read", path)
        return Summary(
            str(path),
            "unknown",
            "rejected",
            message="refused: a symbolic link (only regular files in the drop folder are read)",
        )

    def process_inbox(self) -> list[Summary]:
        """Ingest every waiting file, then move it to archive/<day>/ or rejected/<day>/.

        The database going away is not a file's fault: the pass ends with the error
        (psycopg.OperationalError) and the file stays in the inbox for the next pass."""
        files = self.pending_files()
        if not files:
            return []
        out = []
        with psycopg.connect(self.database_url) as conn:
            for path in files:
                try:
                    summary = self._refused_link(path) or ingest_file(
                        conn, path, data_dir=self.data_dir, trusted_certs=self.trusted_certs
                    )
                except Exception as exc:  # keep going with the next file
                    if conn.broken:
                        raise
                    conn.rollback()
                    log.exception("ingest of %s failed", path)
                    summary = Summary(str(path), "unknown", "rejected", message=str(exc))
                self._file_away(path, rejected=summary.status == "rejected")
                self.on_summary(summary)
                out.append(summary)
        return out

    def _file_away(self, path: Path, *, rejected: bool) -> None:
        day = datetime.now(UTC).strftime("%Y%m%d")
        target = self.inbox / ("rejected" if rejected else "archive") / day
        target.mkdir(parents=True, exist_ok=True)
        dest = target / path.name
        if dest.exists() or dest.is_symlink():
            dest = target / f"{path.stem}-{int(time.time() * 1000)}{path.suffix}"
        shutil.move(str(path), dest)

    # -- pollers -------------------------------------------------------------------------------

    def fetch(self, source: Source, client: httpx.Client) -> Path | None:
        """Download the source (conditional GET); None when unchanged since the last poll."""
        st = self.state.setdefault(source.name, PollState())
        headers = {}
        if st.etag:
            headers["If-None-Match"] = st.etag
        if st.last_modified:
            headers["If-Modified-Since"] = st.last_modified
        retrying = Retrying(
            stop=stop_after_attempt(source.attempts),
            wait=wait_exponential(multiplier=self.backoff_s, max=60),
            retry=retry_if_exception(_retryable),
            reraise=False,
        )
        for attempt in retrying:
            with attempt:
                response = client.get(str(source.url), headers=headers, timeout=source.timeout_s)
                if response.status_code != 304:
                    response.raise_for_status()
        if response.status_code == 304:
            return None
        st.etag = response.headers.get("ETag")
        st.last_modified = response.headers.get("Last-Modified")
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        folder = self.data_dir / "downloads" / source.name
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{stamp}-{_file_name(str(source.url), 'feed')}"
        path.write_bytes(response.content)
        return path

    def _get(
        self,
        url: str,
        client: httpx.Client,
        attempts: int,
        timeout: float,
        allowed: set[tuple[str, int | None]],
    ) -> bytes:
        """A link's content, with retries; LinkRefusedError (never retried) outside ``allowed``."""
        retrying = Retrying(
            stop=stop_after_attempt(attempts),
            wait=wait_exponential(multiplier=self.backoff_s, max=60),
            retry=retry_if_exception(_retryable),
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                response = get_within(client, url, allowed, timeout)
                response.raise_for_status()
        return response.content

    def follow_cap_links(
        self, source: Source, client: httpx.Client, limit: int = 100
    ) -> list[Summary]:
        """Fetch the CAP messages that ATOM index entries only link to (the usual CAP feed)."""
        out = []
        with psycopg.connect(self.database_url) as conn:
            todo = conn.execute(SQL("runner_cap_todo.sql"), {"limit": limit}).fetchall()
            conn.commit()
            folder = self.data_dir / "downloads" / source.name
            folder.mkdir(parents=True, exist_ok=True)
            allowed = allowed_origins(str(source.url), source.link_hosts)
            for feed_id, entry_id, updated, link in todo:
                url = str(httpx.URL(str(source.url)).join(link))
                key = {"feed_id": feed_id, "entry_id": entry_id, "updated": updated}
                try:
                    data = self._get(url, client, source.attempts, source.timeout_s, allowed)
                except LinkRefusedError as exc:
                    log.warning("CAP link of %s refused: %s", source.name, exc)
                    with conn.transaction():
                        conn.execute(SQL("runner_cap_refused.sql"), {**key, "reason": str(exc)})
                    continue
                except httpx.HTTPError as exc:
                    log.warning("CAP message %s of %s unreachable: %s", url, source.name, exc)
                    continue
                stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
                path = folder / f"{stamp}-{_file_name(url, 'alert')}.xml"
                path.write_bytes(data)
                summary = ingest_file(
                    conn,
                    path,
                    data_dir=self.data_dir,
                    kind="cap",
                    source=url,
                    trusted_certs=self.trusted_certs,
                )
                with conn.transaction():
                    conn.execute(
                        SQL("runner_cap_fetched.sql"),
                        {"ingest_id": summary.ingest_id, **key},
                    )
                self.on_summary(summary)
                out.append(summary)
        return out

    def poll_database(self, source: DatabaseSource) -> list[Summary]:
        """Read an SL 323 database on from its mark (ingest/sl323db). A remote that fails is
        logged without its password and tried again with backoff, at most the interval or
        5 minutes apart: the pages read before the failure are stored with their mark."""
        st = self.state.setdefault(source.name, PollState())
        password = self.passwords.get(source.name)
        result = poll_database(self.database_url, source, password, data_dir=self.data_dir)
        for summary in result.summaries:
            self.on_summary(summary)
        st.failures = 0 if result.error is None else st.failures + 1
        if st.failures:
            log.warning(
                "source %s unreachable (%s failures): %s", source.name, st.failures, result.error
            )
        wait = min(source.interval_s * min(2**st.failures, 10), max(source.interval_s, 300))
        st.next_due = time.monotonic() + (wait if st.failures else source.interval_s)
        return result.all_summaries(source.name)

    def poll(self, source: Source | DatabaseSource, client: httpx.Client) -> list[Summary]:
        """Fetch and ingest one source (and the CAP messages an ATOM index links to); a
        failure is logged and scheduled with backoff. Unchanged content gives []."""
        if isinstance(source, DatabaseSource):
            return self.poll_database(source)
        st = self.state.setdefault(source.name, PollState())
        try:
            path = self.fetch(source, client)
        except (RetryError, httpx.HTTPError) as exc:
            st.failures += 1
            cause = exc.last_attempt.exception() if isinstance(exc, RetryError) else exc
            log.warning("source %s unreachable (%s failures): %s", source.name, st.failures, cause)
            # back off further for a source that keeps failing, up to ten intervals
            st.next_due = time.monotonic() + source.interval_s * min(2**st.failures, 10)
            return [
                Summary(
                    str(source.url),
                    source.kind or "unknown",
                    "rejected",
                    message=f"unreachable: {cause}",
                )
            ]
        st.failures = 0
        st.next_due = time.monotonic() + source.interval_s
        if path is None:
            return []
        try:
            with psycopg.connect(self.database_url) as conn:
                summary = ingest_file(
                    conn,
                    path,
                    data_dir=self.data_dir,
                    kind=source.kind,
                    source=str(source.url),
                    trusted_certs=self.trusted_certs,
                )
        except psycopg.OperationalError:
            # not loaded: forget the validators, or the next poll hears "not modified"
            st.etag = st.last_modified = None
            raise
        self.on_summary(summary)
        if summary.kind == "cap" and summary.status in ("loaded", "partial"):
            return [summary, *self.follow_cap_links(source, client)]
        return [summary]

    def poll_due(self, client: httpx.Client) -> list[Summary]:
        now = time.monotonic()
        out = []
        for source in self.sources:
            if self.state.setdefault(source.name, PollState()).next_due <= now:
                out += self.poll(source, client)
        return out

    # -- loops ---------------------------------------------------------------------------------

    def run_once(self) -> list[Summary]:
        """Process the inbox and poll every source once (for cron, tests and the demo)."""
        with httpx.Client(follow_redirects=True) as client:
            summaries = self.process_inbox()
            for source in self.sources:
                summaries += self.poll(source, client)
        self._after(summaries)
        self._beat(len(summaries))
        return summaries

    def run_forever(self, stop: threading.Event | None = None, tick_s: float = 1.0) -> None:
        """Watch the inbox (inotify through watchfiles) and poll sources when due. The database
        going away does not end it: files wait in the inbox and each tick tries again."""
        stop = stop or threading.Event()
        from riskmap.geo import zonal_kernel  # numba: only the long-running runner warms it

        zonal_kernel.warm()  # compiled (or loaded from numba's cache) before the first grid
        with httpx.Client(follow_redirects=True) as client:
            self._pass(client, poll=False)
            for _changes in watch(
                self.inbox,
                stop_event=stop,
                rust_timeout=int(tick_s * 1000),
                yield_on_timeout=True,
                recursive=False,
            ):
                self._pass(client)

    def _pass(self, client: httpx.Client, *, poll: bool = True) -> None:
        handled: list[Summary] = []
        try:
            handled += self.process_inbox()
            if poll:
                handled += self.poll_due(client)
        except psycopg.OperationalError as exc:
            log.warning("database unavailable (%s); trying again at the next tick", exc)
            self._after_owed = True
            return
        self._after(handled)
        self._beat(len(handled))

    def _after(self, summaries: list[Summary]) -> None:
        """The after-load step (the rules) for the data just loaded, or when owed."""
        loaded = [s for s in summaries if s.status in ("loaded", "partial") and s.rows_loaded]
        if not loaded and not self._after_owed:
            return
        try:
            self.after_loaded(loaded)
            self._after_owed = False
        except psycopg.OperationalError as exc:  # the database is away: the next pass retries
            self._after_owed = True
            log.warning("after-load step waits for the database: %s", exc)
        except Exception:  # the watch goes on; the next data retries
            self._after_owed = False
            log.exception("after-load step failed")

    def _beat(self, handled: int) -> None:
        try:
            with psycopg.connect(self.database_url) as conn:
                heartbeat(
                    conn,
                    "ingest",
                    {
                        "inbox": str(self.inbox),
                        "handled": handled,
                        "sources": [s.name for s in self.sources],
                    },
                )
        except psycopg.Error:
            log.warning("could not record the ingest heartbeat", exc_info=True)
