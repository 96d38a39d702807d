"""Response models of the scheduler API (the request bodies are the service's commands:
services/requests.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from scheduler_api.domain.schedules import ScheduleKind
from scheduler_api.services.requests import ActionName, Labels, TaskPayload, UserId
from task_contract import RunStatus


class ScheduleTaskResponse(BaseModel):
    success: bool
    message: str
    schedule_arn: str
    task_id: str
    scheduled_in_minutes: int | None
    schedule_name: str
    schedule_expression: str
    timezone: str
    next_run_times: list[datetime]
    etag: str = Field(description="Also the ETag header: send it as If-Match with a PATCH")


class ScheduleDetail(BaseModel):
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
    task: TaskPayload | None = Field(description="Decoded from the target Input; null if foreign")
    next_run_times: list[datetime]
    created_at: datetime | None
    updated_at: datetime | None
    broken: str | None = Field(
        None, description="Local engine: why it set this schedule aside (it does not fire)"
    )
    etag: str = Field(description="Also the ETag header: send it as If-Match with a PATCH")


class ScheduleSummaryOut(BaseModel):
    """Fields the backend cannot give without a call per item are null (AWS without the
    schedule index: ListSchedules returns names and states only)."""

    schedule_arn: str
    schedule_name: str
    group_name: str
    state: str
    labels: dict[str, str] | None = Field(None, description="The task's labels")
    task_id: str | None = None
    user_id: int | None = None
    action: str | None = None
    kind: ScheduleKind | None = None
    schedule_expression: str | None = None
    timezone: str | None = None
    next_fire_time: datetime | None = Field(None, description="null: paused or done")
    created_at: datetime | None
    updated_at: datetime | None
    broken: str | None = Field(
        None, description="Local engine: why it set this schedule aside (it does not fire)"
    )


class ScheduleListResponse(BaseModel):
    schedules: list[ScheduleSummaryOut]
    next_token: str | None


class RunNowResponse(BaseModel):
    schedule_arn: str
    execution_id: str = Field(description="The run's id, as its runs and logs show it")
    scheduled_time: datetime = Field(description="Now: the time the run is recorded under")


class BulkFilter(BaseModel):
    """The filters of GET /scheduler/schedules (labels as an object); {"all": true} alone
    selects every schedule, and an empty filter is refused so that nobody does by mistake."""

    model_config = ConfigDict(extra="forbid")

    user_id: UserId | None = None
    action: ActionName | None = None
    state: Literal["ENABLED", "DISABLED"] | None = None
    labels: Labels = Field(default_factory=dict)
    kind: ScheduleKind | None = None
    next_before: datetime | None = None
    next_after: datetime | None = None
    task_id_prefix: str | None = Field(None, min_length=1, max_length=128)
    all: bool = False

    @model_validator(mode="after")
    def _explicit(self) -> BulkFilter:
        given = self.model_dump(exclude={"all"}, exclude_defaults=True)
        if self.all and given:
            raise ValueError("all selects every schedule: give it alone")
        if not self.all and not given:
            raise ValueError('an empty filter would select every schedule: say {"all": true}')
        return self


class BulkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    operation: Literal["delete", "pause", "resume"]
    filter: BulkFilter
    dry_run: bool = False


class BulkResponse(BaseModel):
    operation: str
    dry_run: bool
    matched: int = Field(description="Schedules the filter selected")
    changed: int = Field(description="Deleted, paused or resumed now (0 for a dry run)")
    failed: int = Field(description="Could not change (e.g. resuming a one-time schedule past)")
    items: list[ScheduleSummaryOut] = Field(description="Dry run: the first 100 matched")


class CancelScheduleResponse(BaseModel):
    success: bool
    message: str
    schedule_arn: str


class PreviewResponse(BaseModel):
    expression: str
    timezone: str
    after: datetime
    next_run_times: list[datetime]


class ErrorResponse(BaseModel):
    detail: Any
    request_id: str


def error_doc(description: str) -> dict[str, Any]:
    """An error status as the OpenAPI schema documents it."""
    return {"model": ErrorResponse, "description": description}


class RunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    execution_id: str
    schedule_arn: str
    scheduled_time: datetime
    status: RunStatus = Field(
        description=(
            "PENDING (due, not started), RUNNING, RETRYING (raised; another attempt follows), "
            "SUCCEEDED, FAILED (answered 4xx: never retried) or DEAD_LETTERED (raised on "
            "its last attempt)"
        )
    )
    attempts: int
    started_at: datetime | None
    finished_at: datetime | None
    status_code: int | None
    error: str | None
    trigger: Literal["schedule", "manual"] = Field(
        "schedule", description="schedule: a fire of the schedule; manual: a run-now"
    )


class RunListResponse(BaseModel):
    task_id: str
    runs: list[RunOut]


class AttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: int
    started_at: datetime
    finished_at: datetime | None
    status_code: int | None
    error: str | None


class DeadLetterOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    execution_id: str
    schedule_arn: str
    task_id: str | None
    scheduled_time: datetime
    reason: str
    event: dict[str, Any]
    attempts: list[AttemptOut]
    created_at: datetime
    redriven_at: datetime | None
    redrive_status: RunStatus | None = Field(
        description="How the last redrive ended (null: never redriven)"
    )


class DeadLetterListResponse(BaseModel):
    dead_letters: list[DeadLetterOut]


class RedriveResponse(BaseModel):
    dead_letter_id: int
    status: RunStatus


class LatenessPoint(BaseModel):
    scheduled_time: datetime
    lateness_seconds: float = Field(description="started_at - scheduled_time")


class OverviewResponse(BaseModel):
    schedules: dict[str, int] | None = Field(
        description="Schedules by state; null on AWS without SCHEDULE_TABLE"
    )
    runs_last_hour: dict[str, int] | None = Field(
        description="Runs scheduled in the last hour, by status (local engine; null on AWS)"
    )
    lateness: list[LatenessPoint] | None = Field(
        description="Each started run of the last hour and how late it started (local engine)"
    )


class LastRunsResponse(BaseModel):
    last_runs: dict[str, RunOut | None]
