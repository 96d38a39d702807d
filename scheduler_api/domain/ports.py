"""What the service needs from a place that stores and fires schedules, in three small
interfaces: SchedulerBackend holds exactly the EventBridge Scheduler operations it is
named after; finding and counting (ScheduleFinder: an index, which AWS has only with
SCHEDULE_TABLE) and invoking a target now (TaskInvoker: no EventBridge operation) are
apart, so a backend without them does not stub them.

Every method raises only the project exceptions in scheduler_api.domain.errors, so
callers never see a backend's own errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Protocol

from scheduler_api.domain.runs import DeadLetter
from scheduler_api.domain.schedules import (
    Schedule,
    ScheduleFilter,
    SchedulePage,
    ScheduleSpec,
)
from task_contract import RunStatus


class SchedulerBackend(Protocol):
    def create_schedule(self, spec: ScheduleSpec) -> str:
        """Create it and return its ARN; ScheduleExistsError if the name is taken."""
        ...

    def get_schedule(self, group_name: str, name: str) -> Schedule:
        """ScheduleNotFoundError if there is none."""
        ...

    def update_schedule(self, spec: ScheduleSpec, *, expect_revision: str | None = None) -> str:
        """Replace every setting of an existing schedule and return its ARN.

        With `expect_revision` (a Schedule.revision this backend returned), only if the
        schedule is still at that revision: RevisionConflictError if anyone changed it
        since. Atomic locally and with the AWS index; EventBridge alone has no
        conditional update, so there it is checked by a GetSchedule just before the
        UpdateSchedule (a window of one round trip)."""
        ...

    def delete_schedule(self, group_name: str, name: str) -> None:
        """ScheduleNotFoundError if there is none."""
        ...

    def list_schedules(
        self,
        group_name: str,
        *,
        limit: int,
        next_token: str | None = None,
        name_prefix: str | None = None,
    ) -> SchedulePage: ...


class ScheduleFinder(Protocol):
    """Schedules by what their task holds: the local store, or the AWS index."""

    def find_schedules(
        self, group_name: str, where: ScheduleFilter, *, limit: int, next_token: str | None
    ) -> SchedulePage:
        """Schedules matching `where`, by next fire time then task_id; the token stays valid
        while schedules are added or removed."""
        ...

    def count_by_state(self, group_name: str) -> dict[str, int]:
        """How many schedules are ENABLED and DISABLED."""
        ...


class TaskInvoker(Protocol):
    """Runs a schedule's target once, outside its schedule."""

    def run_now(self, schedule: Schedule, now: datetime) -> str:
        """Invoke the schedule's target once, now, outside its schedule, with its Input as
        EventBridge would send it (scheduled time now, a new execution id, attempt 1);
        returns that execution id. EventBridge has no such operation: the target is
        invoked directly."""
        ...


class RunRecord(Protocol):
    """One execution of a task, as the runs routes and the overview show it."""

    @property
    def scheduled_time(self) -> datetime: ...

    @property
    def status(self) -> RunStatus: ...

    @property
    def started_at(self) -> datetime | None: ...


class RunsReader(Protocol):
    """A task's executions, newest first: the local engine's, or the worker's ledger."""

    def runs(self, task_id: str, limit: int = 50) -> Sequence[RunRecord]: ...


class RunHistory(Protocol):
    """What the local engine keeps beside each task's runs: every run of a period (the
    overview) and the executions that failed every attempt (dead letters)."""

    def since(self, moment: datetime) -> Sequence[RunRecord]: ...

    def dead_letters(self, limit: int = 50) -> Sequence[DeadLetter]: ...


class EngineHealth(Protocol):
    @property
    def running(self) -> bool: ...

    @property
    def seconds_since_round(self) -> float | None: ...

    @property
    def healthy(self) -> bool: ...

    @property
    def reason(self) -> str | None: ...


class Engine(Protocol):
    """The local engine as the app starts, stops, checks and asks it to redrive."""

    @property
    def shutdown_grace_seconds(self) -> float: ...

    def start(self) -> None: ...

    def stop(self, grace_seconds: float | None = None) -> None: ...

    def hurry(self) -> None:
        """Cut the stop's grace period short (a second Ctrl-C)."""
        ...

    def health(self) -> EngineHealth: ...

    def redrive(self, dead_letter_id: int) -> RunStatus | None:
        """Run a dead letter once more; None if there is none (or it was redriven)."""
        ...

    def dismiss(self, dead_letter_id: int) -> bool:
        """Forget a dead letter (its runs stay); False if there is none with this id."""
        ...


class Store(Protocol):
    """The local engine's file, as the app names it at start and closes it at the end."""

    @property
    def path(self) -> Path: ...

    def close(self) -> None: ...
