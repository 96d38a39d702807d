"""Benchmark 11, APScheduler 3: a BackgroundScheduler with its SQLAlchemyJobStore on a
SQLite file in WAL mode and a ThreadPoolExecutor of as many threads as our pool, each job
a one-time `date` trigger added (add_job) before its due time. misfire_grace_time=None:
a late job still runs (its default, 1 s, would drop the tail of a burst as missed)."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor  # type: ignore[import-untyped]
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore  # type: ignore[import-untyped]
from apscheduler.schedulers.background import BackgroundScheduler  # type: ignore[import-untyped]
from sqlalchemy import create_engine, event

from bench import peer_jobs


def _wal(connection: Any, _record: Any) -> None:
    connection.execute("PRAGMA journal_mode=WAL")


def run(due: dict[str, datetime], workdir: Path, workers: int, timeout: float) -> float:
    engine = create_engine(f"sqlite:///{workdir / 'apscheduler.db'}")
    event.listen(engine, "connect", _wal)
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=engine)},
        executors={"default": ThreadPoolExecutor(workers)},
        timezone="UTC",
    )
    scheduler.start()
    try:
        for key, when in due.items():
            scheduler.add_job(
                peer_jobs.job, "date", run_date=when, args=[key], id=key,
                misfire_grace_time=None,
            )  # fmt: skip
        created = time.time()
        peer_jobs.wait_for(len(due), timeout)
    finally:
        scheduler.shutdown(wait=True)
    return created
