"""The local engine's SQLite file: how writers of several processes take turns, and
where the WAL is copied back into the file."""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

import pytest

from scheduler_api.backends.local.store.database import Database
from scheduler_api.domain.errors import BackendUnavailableError


def test_writers_of_several_processes_take_turns_on_the_lock_file(tmp_path: Path) -> None:
    """Each process of make run WORKERS=N queues its writes on the lock file's flock
    (which the kernel hands over at once), not on SQLite's busy handler (which sleeps
    whole milliseconds): while another process holds it, a write waits, and gives up
    at the busy timeout with a 503."""
    database = Database(tmp_path / "s.db", busy_timeout=0.05)
    other_process = os.open(tmp_path / "s.db.writer-lock", os.O_RDWR)
    fcntl.flock(other_process, fcntl.LOCK_EX)
    try:
        with pytest.raises(BackendUnavailableError), database.write():
            pass
        with pytest.raises(BackendUnavailableError):
            database.write_one("INSERT INTO engines VALUES ('x', 1)", ())
    finally:
        fcntl.flock(other_process, fcntl.LOCK_UN)
        os.close(other_process)
    with database.write() as conn:
        conn.execute("INSERT INTO engines VALUES ('after', 1)")
    assert database.write_one("UPDATE engines SET heartbeat_at = 2", ()) == 1
    database.close()


def test_the_loop_leaves_wal_checkpoints_to_another_thread(tmp_path: Path) -> None:
    """SQLite copies the WAL back into the file in the commit that takes it past 1,000
    pages; the engine's loop defers that to its checkpoint thread (benchmark 5)."""
    database = Database(tmp_path / "wal.db")
    database.defer_checkpoints()
    page = 4096
    for n in range(30):  # 30 commits of about 200 pages each
        with database.write() as conn:
            conn.execute("INSERT INTO engines VALUES (?, 0)", (f"{n}-" + "x" * 200 * page,))

    copied: list[tuple[int, int]] = []
    checkpointer = threading.Thread(target=lambda: copied.append(database.checkpoint()))
    checkpointer.start()
    checkpointer.join()
    ((frames, done),) = copied
    assert frames > 5_000  # no commit copied the WAL back (it would hold under 1,200)
    assert done == frames
    with database.read() as conn:
        assert conn.execute("SELECT count(*) FROM engines").fetchone()[0] == 30
    database.close()
