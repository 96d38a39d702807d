"""What the scheduler API answers, as typed models: one per response schema of the server's
OpenAPI document (tests/client/test_contract.py fails when the two disagree on a field's
name or whether it is required).

A newer server does not break an older client: unknown fields are ignored, and a value of
an enum this client does not know (a new run status, trigger or kind) is kept as an
`Unrecognized` string rather than refused, while the known values stay typed as Literals.
The contract test is what tells us to add them here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema


class Unrecognized(str):
    """An enum value a newer server sent that this client does not know: still a str (it
    compares and prints as one), told apart by `isinstance(value, Unrecognized)`."""

    __slots__ = ()

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_after_validator_function(cls, core_schema.str_schema())

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """Marked, so the contract test compares only the known values with the server's."""
        return {"type": "string", "x-unrecognized": True}


KnownRunStatus = Literal[
    "PENDING", "RUNNING", "RETRYING", "SUCCEEDED", "FAILED", "DEAD_LETTERED", "SKIPPED"
]
RunStatus = KnownRunStatus | Unrecognized
ScheduleKind = Literal["one-time", "recurring"] | Unrecognized
Trigger = Literal["schedule", "manual"] | Unrecognized
Overlap = Literal["allow", "skip"] | Unrecognized


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Task(_Answer):
    """The task a schedule delivers (ScheduleDetail.task)."""

    task_id: str
    user_id: int
    action: str
    data: dict[str, Any] = {}
    labels: dict[str, str] = {}
    overlap: Overlap = "allow"
    max_lateness_seconds: int | None = None


class ScheduleCreated(_Answer):
    """POST /scheduler/schedule. `message` says whether it was created now or already was
    (the same request repeated)."""

    success: bool
    message: str
    schedule_arn: str
    task_id: str
    scheduled_in_minutes: int | None
    schedule_name: str
    schedule_expression: str
    timezone: str
    next_run_times: list[datetime]
    etag: str


class ScheduleDetail(_Answer):
    """GET, PATCH, pause and resume of one schedule; `etag` is for `update(if_match=...)`."""

    schedule_arn: str
    schedule_name: str
    group_name: str
    state: str
    schedule_expression: str
    timezone: str
    start_date: datetime | None
    end_date: datetime | None
    flexible_window_minutes: int | None
    action_after_completion: str
    task: Task | None
    next_run_times: list[datetime]
    created_at: datetime | None
    updated_at: datetime | None
    broken: str | None = None
    etag: str


class RunStarted(_Answer):
    """POST .../run: the run's id, as its runs show it."""

    schedule_arn: str
    execution_id: str
    scheduled_time: datetime


class Cancelled(_Answer):
    """DELETE of a schedule. `already_cancelled` is the client's own: True when a retry
    after a 503 found it gone (the first attempt's doing, most likely), see calls.cancel."""

    success: bool
    message: str
    schedule_arn: str
    already_cancelled: bool = False


class ScheduleSummary(_Answer):
    """A schedule in a list; what the backend cannot say without a call per item is None."""

    schedule_arn: str
    schedule_name: str
    group_name: str
    state: str
    labels: dict[str, str] | None = None
    task_id: str | None = None
    user_id: int | None = None
    action: str | None = None
    kind: ScheduleKind | None = None
    schedule_expression: str | None = None
    timezone: str | None = None
    next_fire_time: datetime | None = None
    created_at: datetime | None
    updated_at: datetime | None
    broken: str | None = None


class SchedulePage(_Answer):
    schedules: list[ScheduleSummary]
    next_token: str | None


class BulkResult(_Answer):
    operation: str
    dry_run: bool
    matched: int
    changed: int
    failed: int
    items: list[ScheduleSummary]


class Preview(_Answer):
    expression: str
    timezone: str
    after: datetime
    next_run_times: list[datetime]


class Run(_Answer):
    execution_id: str
    schedule_arn: str
    scheduled_time: datetime
    status: RunStatus
    attempts: int
    started_at: datetime | None
    finished_at: datetime | None
    status_code: int | None
    error: str | None
    trigger: Trigger = "schedule"
    duration_seconds: float | None = None


class RunList(_Answer):
    task_id: str
    runs: list[Run]


class Attempt(_Answer):
    number: int
    started_at: datetime
    finished_at: datetime | None
    status_code: int | None
    error: str | None


class DeadLetter(_Answer):
    id: int
    execution_id: str
    schedule_arn: str
    task_id: str | None
    scheduled_time: datetime
    reason: str
    event: dict[str, Any]
    attempts: list[Attempt]
    created_at: datetime
    redriven_at: datetime | None
    redrive_status: RunStatus | None


class DeadLetterList(_Answer):
    dead_letters: list[DeadLetter]


class Redriven(_Answer):
    dead_letter_id: int
    status: RunStatus


class Dismissed(_Answer):
    dead_letter_id: int
    dismissed: bool


class LatenessPoint(_Answer):
    scheduled_time: datetime
    lateness_seconds: float


class Overview(_Answer):
    schedules: dict[str, int] | None
    runs_last_hour: dict[str, int] | None
    lateness: list[LatenessPoint] | None


class LastRuns(_Answer):
    last_runs: dict[str, Run | None]
