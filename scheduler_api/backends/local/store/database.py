"""The local engine's SQLite file: per-thread connections, write transactions.

WAL mode lets readers run beside the one writer; `BEGIN IMMEDIATE` takes the write lock up
front, so two engines (processes or threads) claiming work serialise instead of failing.
synchronous=NORMAL in WAL mode keeps every committed transaction through a process crash
(SIGKILL); only a power cut can lose the last few. The tables are schema.py's, made or
migrated when the file is opened.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from scheduler_api.backends.local.store.schema import create_or_migrate
from scheduler_api.domain.errors import BackendUnavailableError

logger = logging.getLogger(__name__)
BUSY_TIMEOUT_SECONDS = 10


class Database:
    def __init__(self, path: Path, busy_timeout: float = BUSY_TIMEOUT_SECONDS) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        # Writers of this process queue here, handing over at once; SQLite's own busy
        # handler (for other processes) backs off by sleeping, which costs whole ms.
        self._write_lock = threading.Lock()
        # Writers of other processes (make run WORKERS=N) queue on a lock file's flock,
        # which the kernel hands over at once too. SQLite's lock still decides: a writer
        # that does not take this one (the sqlite3 shell) only meets the busy handler.
        self._lock_file = os.open(f"{path}.writer-lock", os.O_RDWR | os.O_CREAT, 0o600)
        with self.write() as conn:
            create_or_migrate(conn)

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (sqlite3 connections must not be shared across threads)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path,
                timeout=self.busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def _writer(self) -> Iterator[sqlite3.Connection]:
        """This process's turn to write, and this thread's connection."""
        deadline = time.monotonic() + self.busy_timeout
        if not self._write_lock.acquire(timeout=self.busy_timeout):
            raise BackendUnavailableError("the local schedule store is busy or unavailable")
        try:
            self._lock_other_processes(deadline)
            try:
                with unavailable_on_sqlite_error():
                    yield self.connection()
            finally:
                fcntl.flock(self._lock_file, fcntl.LOCK_UN)
        finally:
            self._write_lock.release()

    def _lock_other_processes(self, deadline: float) -> None:
        """The lock file's flock, waiting at most until `deadline`: tried without
        blocking, then polled every 0.1 to 1 ms (flock has no timeout of its own)."""
        pause = 0.0001
        while True:
            try:
                fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise BackendUnavailableError(
                        "the local schedule store is busy or unavailable"
                    ) from None
                time.sleep(pause)
                pause = min(pause * 2, 0.001)

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, holding the database's write lock from its start."""
        with self._writer() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def write_one(self, sql: str, parameters: tuple[object, ...]) -> int:
        """One statement, which SQLite makes its own transaction: the shortest hold of the
        write lock (no BEGIN/COMMIT round trips). Returns the rows changed."""
        with self._writer() as conn:
            return conn.execute(sql, parameters).rowcount

    def defer_checkpoints(self) -> None:
        """This thread's commits no longer copy the WAL back into the file when it grows
        past 1,000 pages (SQLite's default, which makes one commit in a few pay for the
        copy and its fsync); `checkpoint()`, on another thread, does it instead."""
        self.connection().execute("PRAGMA wal_autocheckpoint = 0")

    def checkpoint(self) -> tuple[int, int]:
        """Copy what it can of the WAL into the file without waiting for any reader or
        writer (a PASSIVE checkpoint): (frames in the WAL, frames copied)."""
        with self.read() as conn:
            _, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(frames), int(copied)

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        with unavailable_on_sqlite_error():
            yield self.connection()

    def close(self) -> None:
        with self._all_lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()
        if self._lock_file >= 0:
            os.close(self._lock_file)
            self._lock_file = -1


@contextmanager
def unavailable_on_sqlite_error() -> Iterator[None]:
    """A locked, full or unreadable database file is a 503 to clients, not a 500."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        logger.warning("local schedule store error: %s", exc)
        raise BackendUnavailableError("the local schedule store is busy or unavailable") from exc
