"""Benchmark 11, huey: SqliteHuey (WAL, its default) and a thread consumer with as many
workers as our pool, in this process; each job a task scheduled with an `eta` before its
due time. The consumer polls an empty queue with a backoff that reaches 10 s by default:
here it stops at 0.1 s, so an idle worker is not what makes huey late (the most
favourable setting for huey we know; its scheduler still moves due tasks once a second,
`scheduler_interval`, its least)."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

from huey import SqliteHuey  # type: ignore[import-untyped]  # no stubs, no py.typed

from bench import peer_jobs


def run(due: dict[str, datetime], workdir: Path, workers: int, timeout: float) -> float:
    huey = SqliteHuey("bench", filename=str(workdir / "huey.db"), results=False)
    task = huey.task()(peer_jobs.job)
    consumer = huey.create_consumer(
        workers=workers, worker_type="thread", periodic=False, initial_delay=0.01,
        max_delay=0.1, check_worker_health=False,
    )  # fmt: skip
    consumer.start()
    try:
        for key, when in due.items():
            task.schedule(args=(key,), eta=when)
        created = time.time()
        peer_jobs.wait_for(len(due), timeout)
    finally:
        consumer.stop(graceful=True)
    return created
