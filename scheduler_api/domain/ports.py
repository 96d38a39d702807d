"""What the service needs from a place that stores and fires schedules.

Methods are named after the EventBridge Scheduler operations and raise only the
project exceptions in scheduler_api.domain.errors, so callers never see a backend's own errors.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from scheduler_api.domain.schedules import (
    Schedule,
    ScheduleFilter,
    SchedulePage,
    ScheduleSpec,
)


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

    def find_schedules(
        self, group_name: str, where: ScheduleFilter, *, limit: int, next_token: str | None
    ) -> SchedulePage:
        """Schedules matching `where`, by next fire time then task_id; the token stays valid
        while schedules are added or removed. IndexUnavailableError if there is no index."""
        ...

    def count_by_state(self, group_name: str) -> dict[str, int]:
        """How many schedules are ENABLED and DISABLED. IndexUnavailableError without an
        index."""
        ...

    def run_now(self, schedule: Schedule, now: datetime) -> str:
        """Invoke the schedule's target once, now, outside its schedule, with its Input as
        EventBridge would send it (scheduled time now, a new execution id, attempt 1);
        returns that execution id. EventBridge has no such operation: the target is
        invoked directly."""
        ...

    def list_schedules(
        self,
        group_name: str,
        *,
        limit: int,
        next_token: str | None = None,
        name_prefix: str | None = None,
    ) -> SchedulePage: ...
