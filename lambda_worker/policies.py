"""The per-schedule policies the worker enforces, carried in the callback body so they work
the same on AWS and on the local engine:

- max_lateness_seconds: a delivery whose scheduled time is older than this is not run
  (engine downtime, Lambda retries, a resumed pause: "don't run the 200 missed fires");
- overlap="skip": a fire while another run of the same task_id is running is not run.
  That needs the ledger (its per-task lock); without one the fire runs, with a warning.

A skipped delivery is answered 200 (nothing to retry) and recorded as SKIPPED with why.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from lambda_worker.ledger.base import Ledger
from lambda_worker.schemas import TaskCallbackRequest

logger = logging.getLogger("lambda_worker.policies")

OVERLAP_REASON = "overlap: another run of this task is still running"


def lateness_reason(
    task: TaskCallbackRequest, scheduled_time: str | None, now: float
) -> str | None:
    """Why the delivery is too late to run, or None."""
    limit = task.max_lateness_seconds
    if limit is None or scheduled_time is None:
        return None
    try:
        due = datetime.fromisoformat(scheduled_time).timestamp()
    except ValueError:
        return None  # not a time: nothing to compare (the ledger keys on it as text)
    late = now - due
    if late <= limit:
        return None
    return f"late: {late:.0f} s after its scheduled time (max_lateness_seconds={limit})"


@contextmanager
def no_overlap(task: TaskCallbackRequest, ledger: Ledger | None) -> Iterator[bool]:
    """Yields whether the action may run now; holds the task's lock while it does."""
    if task.overlap != "skip":
        yield True
        return
    if ledger is None:
        logger.warning("overlap=skip needs the ledger (LEDGER_TABLE or LEDGER_DB_PATH); running")
        yield True
        return
    token = ledger.lock_task(task.task_id)
    if token is None:
        yield False
        return
    try:
        yield True
    finally:
        ledger.unlock_task(task.task_id, token)
