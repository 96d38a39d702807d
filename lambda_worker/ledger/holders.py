"""Whether the process that claimed a SQLite ledger record is alive: each process's store
holds an flock on a lock file of its own, which the kernel lets go of only when the
process dies (DESIGN fact 21). No heartbeat: a stopped or starved process, or a ledger
file locked from outside, must not look dead while its action runs.

The files are `<ledger>.holders/<host>:<pid>:<id>.lock`, the name the record keeps in
its `holder` column. Local mode only: Lambda's own retry rule (fact 20) serves DynamoDB.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import uuid
import weakref
from pathlib import Path


class HolderLock:
    """This process's (this store's) lock, taken at its first claim, held for its life."""

    def __init__(self, ledger_path: Path) -> None:
        self.directory = Path(f"{ledger_path}.holders")
        self.host = socket.gethostname()
        self.name = f"{self.host}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._fd = -1
        self._closer: weakref.finalize[[int], HolderLock] | None = None

    @property
    def fd(self) -> int:
        """The lock file's descriptor (tests unlock it to play a process that died)."""
        return self._fd

    def hold(self) -> None:
        if self._fd >= 0:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        # Locked under a temporary name, then renamed: never found unlocked under its own.
        temporary = self.directory / f".{uuid.uuid4().hex}.tmp"
        fd = os.open(temporary, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.rename(temporary, self.directory / f"{self.name}.lock")
        except BaseException:
            os.close(fd)
            temporary.unlink(missing_ok=True)
            raise
        self._fd = fd
        self._closer = weakref.finalize(self, os.close, fd)

    def is_gone(self, holder: str) -> bool:
        """Whether `holder`, another process of this host, is dead: its lock is free, or
        its file is gone (removed by whoever found it free). True too when this process
        cannot tell (an unreadable file): the record is then judged as before."""
        path = self.directory / f"{holder.replace(os.sep, '_')}.lock"
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        finally:
            os.close(fd)
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)  # dead: the next look need not open it
        return True
