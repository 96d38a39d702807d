"""The SQLite ledger's writer rule: one writer at a time, queued before SQLite is asked.

The local engine's pool threads (LOCAL_CONCURRENCY) and the API processes of `make run
WORKERS=N` all write one ledger file. Left to SQLite, every writer but one hits
SQLITE_BUSY and its busy handler sleeps (1, 2, 5, 10 ms...), which cost a third of a burst
(issue 22). So writers queue here first: this process's on a threading lock, which hands
over at once, then other processes' on an flock of `<ledger>.writer-lock`, which the
kernel hands over at once too and frees when its holder dies (SIGKILL included). Only
then does the writer run its statement, so SQLite's busy handler sees nobody but a writer
that does not take this lock (the sqlite3 shell).

The same rule as the engine's own store (scheduler_api/backends/local/store/database.py),
written again here because the worker may import nothing of the API's (.importlinter).
A writer that cannot have its turn by its deadline raises LedgerUnavailableError: a 503,
so the engine retries the delivery, never a thread that hangs.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
import weakref
from pathlib import Path

from lambda_worker.ledger.base import LedgerUnavailableError

# flock has no timeout: a waiter polls, from 0.1 ms doubling to at most 1 ms.
_FIRST_PAUSE, _LONGEST_PAUSE = 0.0001, 0.001


class WriterLock:
    """The turn to write one ledger file, in this process and across processes."""

    def __init__(self, ledger_path: Path, timeout: float) -> None:
        self.path = Path(f"{ledger_path}.writer-lock")
        self.timeout = timeout
        self._threads = threading.Lock()
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        weakref.finalize(self, os.close, self._fd)

    def __enter__(self) -> None:
        """This writer's turn, or LedgerUnavailableError after `timeout` seconds. A class
        rather than a @contextmanager: every ledger write pays for it."""
        deadline = time.monotonic() + self.timeout
        if not self._threads.acquire(timeout=self.timeout):
            raise LedgerUnavailableError(f"no turn to write {self.path.stem} in {self.timeout}s")
        try:
            self._lock_other_processes(deadline)
        except BaseException:
            self._threads.release()
            raise

    def __exit__(self, *exc_info: object) -> None:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def _lock_other_processes(self, deadline: float) -> None:
        pause = _FIRST_PAUSE
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LedgerUnavailableError(
                        f"another process held {self.path.name} for {self.timeout}s"
                    ) from None
                time.sleep(pause)
                pause = min(pause * 2, _LONGEST_PAUSE)
