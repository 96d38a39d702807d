"""Which engines on the SQLite file are alive: each holds an flock on a lock file of its
own while it may hold leases, and the kernel lets go of it only when the process dies
(DESIGN fact 21).

A heartbeat row cannot say this. A writer holding the file from outside (the sqlite3
shell, a backup, a slow disk) stalls every heartbeat up to the busy timeout, and so does
a stopped (SIGSTOP) or starved process, while its actions go on running: another engine
took such an engine for dead after 5 s and ran its executions a second time, at the same
time as the first (issue 18). An flock needs no write: a stopped or starved engine keeps
it, and its leases stay its own, however long it is away.

The files are `<db>.engines/<owner>.lock`, named by the `host:pid:id` that the engine
writes in `engines` and `lease_owner`, so any engine finds a lease holder's file. Only
engines of this host are judged by their lock: another host's flock is not this kernel's
to see (NFS may not pass it on, and SQLite does not support sharing a file over NFS
anyway), so those are still judged by heartbeat, as is an engine with no lock file (one
of an older version, or one already found dead and cleaned up).

A process forked (not exec'd) by an action inherits the descriptor, and with it the
lock: the engine counts as alive until that child exits too, which is what keeps the
child's work from running twice.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import uuid
import weakref
from enum import Enum
from pathlib import Path


class Holder(Enum):
    ALIVE = "alive"  # its lock is held
    DEAD = "dead"  # its lock was free: its process is gone (the file is now removed)
    UNKNOWN = "unknown"  # no lock file: judge it by its heartbeat


def lock_dir(db_path: Path) -> Path:
    return Path(f"{db_path}.engines")


def host_of(owner: str) -> str:
    return owner.partition(":")[0]


def _file_name(owner: str) -> str:
    return owner.replace(os.sep, "_") + ".lock"


class EngineLock:
    """This engine's lock file, held from its first lease or heartbeat until it retires."""

    def __init__(self, directory: Path, owner: str) -> None:
        self.directory = directory
        self.path = directory / _file_name(owner)
        self._fd = -1
        self._closer: weakref.finalize[[int], EngineLock] | None = None

    @property
    def fd(self) -> int:
        """The lock file's descriptor (tests unlock it to play a process that died)."""
        return self._fd

    def hold(self) -> None:
        """Take the lock, if not held already. The file is locked under a temporary name
        and only then renamed into place, so no other engine ever finds it unlocked and
        takes this one for dead."""
        if self._fd >= 0:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        temporary = self.directory / f".{uuid.uuid4().hex}.tmp"
        fd = os.open(temporary, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a new file: nobody holds it
            os.rename(temporary, self.path)
        except BaseException:
            os.close(fd)
            temporary.unlink(missing_ok=True)
            raise
        self._fd = fd
        # An engine dropped without retiring (tests) lets go when it is collected.
        self._closer = weakref.finalize(self, os.close, fd)

    def close(self) -> None:
        """Let go: this engine holds no more leases (it retired)."""
        if self._fd < 0:
            return
        with contextlib.suppress(OSError):
            self.path.unlink(missing_ok=True)
        if self._closer is not None:
            self._closer()  # closes the descriptor, once
        self._fd, self._closer = -1, None


def probe(directory: Path, owner: str) -> Holder:
    """Whether `owner` (an engine of this host) is alive, by trying its lock without
    waiting. A free lock means its process died: the file is removed, while locked, so
    the next look finds no file rather than a free one."""
    path = directory / _file_name(owner)
    for _ in range(3):
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:  # no such file, or not ours to open: the heartbeat decides
            return Holder.UNKNOWN
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return Holder.ALIVE
            # The file locked must still be the one under that name: an engine that
            # retired (its file removed, then let go) and started again has a new one.
            try:
                current = os.stat(path)
            except FileNotFoundError:
                return Holder.UNKNOWN  # it retired: its row says the rest
            opened = os.fstat(fd)
            if (current.st_dev, current.st_ino) == (opened.st_dev, opened.st_ino):
                with contextlib.suppress(OSError):
                    path.unlink()
                return Holder.DEAD
        finally:
            os.close(fd)
    return Holder.UNKNOWN  # replaced under us again and again: leave it to the heartbeat


def sweep(directory: Path, host: str) -> list[str]:
    """Remove the lock files of this host's engines that died (and temporary files left
    by one killed while taking its lock); returns the owners found dead."""
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    dead = []
    for name in names:
        if name.endswith(".tmp"):
            _remove_if_free(directory / name)
        elif name.endswith(".lock") and host_of(name) == host:
            owner = name.removesuffix(".lock")
            if probe(directory, owner) is Holder.DEAD:
                dead.append(owner)
    return dead


def _remove_if_free(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        path.unlink(missing_ok=True)
    except OSError:  # held (being renamed into place), or already gone
        pass
    finally:
        os.close(fd)
