"""The floor issue 22 sets the engine's bookkeeping against: one SQLite transaction per
job doing an insert and an update, no scheduler (about 53,000/s on this machine when the
issue was filed, `FLOOR_US_AT_FILING`).

Benchmark 13 runs it around each pair of product and prototype runs, and reads their
times in floors measured in the same minutes, against the target (50 µs, set when the
floor took `FLOOR_US_AT_FILING`) in floors: `target_floors`. What slows this host slows
the floor too only in part (bench/README.md says how to read it).
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from pathlib import Path

FLOOR_US_AT_FILING = 1e6 / 53_000  # issue 22's text: "about 53,000/s"
JOBS = 10_000


def target_floors(target_us: float) -> float:
    """A target in µs, as floors of the host the issue measured it on."""
    return round(target_us / FLOOR_US_AT_FILING, 2)


def floor_us_per_run(jobs: int = JOBS) -> float:
    """µs per job: each its own BEGIN IMMEDIATE … COMMIT with an insert and an update, on
    a file of its own in WAL mode with synchronous=NORMAL, as the engine's Database."""
    with tempfile.TemporaryDirectory() as temp:
        conn = sqlite3.connect(Path(temp) / "floor.db", isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("CREATE TABLE jobs (id INTEGER PRIMARY KEY, status TEXT NOT NULL)")
            started = time.perf_counter()
            for n in range(jobs):
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("INSERT INTO jobs (id, status) VALUES (?, 'PENDING')", (n,))
                conn.execute("UPDATE jobs SET status = 'DONE' WHERE id = ?", (n,))
                conn.execute("COMMIT")
            elapsed = time.perf_counter() - started
            (done,) = conn.execute("SELECT count(*) FROM jobs WHERE status = 'DONE'").fetchone()
        finally:
            conn.close()
    assert done == jobs, f"the floor did {done} jobs, not {jobs}"
    return round(elapsed / jobs * 1e6, 2)
