"""Benchmark 13's resident file: the schedules a burst runs, among many that it does not.

The plain rounds of benchmark 13 run on a file that holds only the schedules they run,
all made together: a round's runs share the pages of every index, even of those keyed
by a random value (a schedule's uuid4 id). A file that has been in use holds more: the
runs of earlier bursts, and schedules due later. Here the burst's `count` schedules are
made in among `resident` others due in a month, in a random order (their task ids,
users and creation interleaved), after `resident` runs of an earlier burst that the
product's own rounds ran to the end, so their executions and inputs are in the file.

Both sides of the benchmark start from a copy of this one file: the product's rounds on
a byte-for-byte copy, the design's prototype on its copy of the schedules
(bench/rounds_design.py `copy_product_schedules`, history included).
"""

from __future__ import annotations

import random
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from scheduler_api.domain.clock import to_epoch

LATER = timedelta(days=30)  # the resident schedules' due time: never in the burst


@dataclass(frozen=True)
class ResidentFile:
    path: Path
    now: float  # when the burst is due and past: the rounds' clock
    count: int  # the burst's schedules
    resident: int  # schedules due later, and earlier runs in the file


def make_resident_file(temp: Path, count: int, resident: int, *, seed: int = 22) -> ResidentFile:
    """The product's file (`temp/resident.db`), its WAL checkpointed into it: `resident`
    earlier runs, then `count` schedules due at one instant among `resident` due later."""
    from bench.engine_run import bookkeeping, schedule_numbered

    path = temp / "resident.db"
    clock = [datetime.now(UTC)]
    runtime = local_runtime(path, lambda: clock[0])
    earlier = clock[0] + timedelta(seconds=5)
    schedule_numbered(runtime.service, ((n, earlier) for n in range(resident)), "earlier")
    clock[0] = earlier + timedelta(seconds=1)
    bookkeeping(runtime, 8)  # the earlier burst, run to the end: its runs stay
    due = clock[0] + timedelta(seconds=5)
    order = list(range(count + resident))
    random.Random(seed).shuffle(order)
    schedule_numbered(runtime.service, ((n, due if n < count else due + LATER) for n in order))
    clock[0] = due + timedelta(seconds=1)
    busy, _, _ = (
        runtime.engine.database.connection().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    )
    runtime.engine.database.close()
    wal = Path(f"{path}-wal")
    assert busy == 0, "the WAL was not emptied: copies would not hold the whole file"
    assert not (wal.exists() and wal.stat().st_size), "the WAL is not empty"
    return ResidentFile(path, to_epoch(clock[0]), count, resident)


def local_runtime(db: Path, clock: Callable[[], datetime]) -> Any:
    """The product's local runtime on `db` (made, or opened as it is), at `clock`, with
    benchmark 5's settings: its engine's rounds are what benchmark 13 runs."""
    # First: it refuses a process that imported the worker (as the runtime does) before it.
    import bench.engine_run  # noqa: F401
    from scheduler_api.bootstrap import build_local_runtime
    from scheduler_api.config import Settings

    settings = Settings(
        _env_file=None,
        backend="local",
        local_db_path=db,
        local_concurrency=8,
        local_lambda_handler="bench.counting_handler.handler",
        log_level="WARNING",
    )
    return build_local_runtime(settings, clock)


def copy_of(file: ResidentFile, db: Path) -> Path:
    """A byte-for-byte copy of the resident file at `db` (its WAL is empty)."""
    shutil.copyfile(file.path, db)
    return db


def counts(
    db: Path, now: float, runs_from: str = "executions", schedules_from: str = "schedules"
) -> dict[str, Any]:
    """What the rounds left: schedules whose run succeeded (`ran`), and whether each ran
    once (`runs`, the execution rows; `most_attempts`); schedules left (`left`), and of
    those any due by `now` (`left_due`: there should be none). `runs_from` and
    `schedules_from` are where a file of another layout keeps them (a table or a
    subquery: bench/rounds_design.py's)."""
    with sqlite3.connect(db) as conn:
        ran, runs, most_attempts = conn.execute(
            "SELECT count(DISTINCT schedule_id) FILTER (WHERE status = 'SUCCEEDED'),"  # noqa: S608
            f" count(*), max(attempts) FROM {runs_from}"
        ).fetchone()
        left, left_due = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE next_fire_at IS NULL OR next_fire_at <= ?)"  # noqa: S608
            f" FROM {schedules_from}",
            (now,),
        ).fetchone()
    return {
        "ran": ran,
        "runs": runs,
        "most_attempts": most_attempts,
        "left": left,
        "left_due": left_due,
    }


def expected(ran: int, left: int) -> dict[str, Any]:
    """`counts` when `ran` schedules ran once each and `left` others are due later."""
    return {"ran": ran, "runs": ran, "most_attempts": 1, "left": left, "left_due": 0}
