"""The schedule types every layer shares: a spec (what CreateSchedule takes), a stored
schedule, the one listing and page shape every list returns, and the filter lists select
by."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

ScheduleState = Literal["ENABLED", "DISABLED"]
ActionAfterCompletion = Literal["NONE", "DELETE"]
ScheduleKind = Literal["one-time", "recurring"]


@dataclass(frozen=True)
class ScheduleTarget:
    arn: str
    role_arn: str
    input: str
    maximum_retry_attempts: int
    maximum_event_age_seconds: int
    dead_letter_arn: str | None = None


@dataclass(frozen=True)
class ScheduleSpec:
    """Everything CreateSchedule takes, typed."""

    name: str
    group_name: str
    expression: str
    timezone: str
    target: ScheduleTarget
    description: str = ""
    state: ScheduleState = "ENABLED"
    start_date: datetime | None = None
    end_date: datetime | None = None
    flexible_window_minutes: int | None = None
    action_after_completion: ActionAfterCompletion = "NONE"


@dataclass(frozen=True)
class Schedule:
    arn: str
    spec: ScheduleSpec
    created_at: datetime | None = None
    updated_at: datetime | None = None
    broken: str | None = None  # local engine: why it set the schedule aside (it never fires)
    # The stored version this was read at, opaque, for update_schedule's expect_revision
    # (local: the row's id and rev; AWS with SCHEDULE_TABLE: the index entry's rev; AWS alone:
    # a digest of GetSchedule's answer). None: not read from the backend.
    revision: str | None = None


@dataclass(frozen=True)
class ScheduleListing:
    """One schedule in a list: what list_schedules and find_schedules both return for it.

    A plain list (EventBridge's ListSchedules, the local list by name) knows the fields
    down to `broken`, and the labels locally; an index knows them all. What a list does not
    know is None: `kind` is None exactly then (an index always knows it), so a None
    `next_fire` with a `kind` means the schedule never fires again (paused or done)."""

    arn: str
    name: str
    group_name: str
    state: str
    created_at: datetime | None = None
    updated_at: datetime | None = None
    broken: str | None = None  # local engine: why it set the schedule aside
    labels: dict[str, str] | None = None  # None: not known without reading each schedule
    task_id: str | None = None
    user_id: int | None = None
    action: str | None = None
    kind: ScheduleKind | None = None
    expression: str | None = None
    timezone: str | None = None
    next_fire: datetime | None = None


@dataclass(frozen=True)
class SchedulePage:
    """A page of listings; next_token (None on the last page) asks for the next one."""

    schedules: list[ScheduleListing]
    next_token: str | None


@dataclass(frozen=True)
class ScheduleFilter:
    """What GET /scheduler/schedules and bulk operations select by; every field set must
    hold (AND). next_after <= next fire < next_before."""

    user_id: int | None = None
    action: str | None = None
    state: ScheduleState | None = None
    labels: dict[str, str] = field(default_factory=dict)
    kind: ScheduleKind | None = None
    next_before: datetime | None = None
    next_after: datetime | None = None
    task_id_prefix: str | None = None

    @property
    def is_empty(self) -> bool:
        return self == ScheduleFilter()
