"""What a run of a task is, as the runs endpoint shows it: the shape both run readers return
(the local engine's history and the worker's ledger on AWS), so neither backend needs the
other's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from task_contract import RunStatus


@dataclass(frozen=True)
class AttemptRecord:
    """One try of a run: the local engine records each, the ledger on AWS only counts them."""

    number: int
    started_at: datetime
    finished_at: datetime | None
    status_code: int | None
    error: str | None


Trigger = Literal["schedule", "manual"]


@dataclass(frozen=True)
class Run:
    """One execution of a task, scheduled or run now, as either backend recorded it."""

    execution_id: str
    schedule_arn: str
    scheduled_time: datetime
    status: RunStatus
    attempts: int
    started_at: datetime | None
    finished_at: datetime | None
    status_code: int | None
    error: str | None
    trigger: Trigger = "schedule"  # manual: a run-now
    # How long the action itself ran, its attempts summed: not the backoff between them.
    duration_seconds: float | None = None


@dataclass(frozen=True)
class DeadLetter:
    """A run that failed every attempt (the local engine keeps them; on AWS they are in the
    function's on-failure queue): what failed, why, and whether it was redriven."""

    id: int
    execution_id: str
    schedule_arn: str
    task_id: str | None
    scheduled_time: datetime
    reason: str
    event: dict[str, Any]
    attempts: list[AttemptRecord]
    created_at: datetime
    redriven_at: datetime | None
    redrive_status: RunStatus | None
