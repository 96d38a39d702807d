"""Request and response models of the scheduler API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from scheduler_api.domain.expressions.parse import (
    check_date_range,
    check_rate_interval,
    check_timezone,
    parse_cron,
    parse_rate,
)
from scheduler_api.domain.schedules import ScheduleKind
from task_contract import (
    ACTION_MAX_LENGTH,
    LABEL_KEY_PATTERN,
    LABEL_VALUE_MAX,
    MAX_DATA_DEPTH,
    MAX_LABELS,
    MAX_LATENESS_RANGE,
    TASK_ID_MAX_LENGTH,
    Overlap,
    RunStatus,
    json_problem,
)

__all__ = ["MAX_DATA_DEPTH"]  # api.limits reads it from here

TaskId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=TASK_ID_MAX_LENGTH, pattern=r"^[A-Za-z0-9._:-]+$"),
]
# Constrained, so pydantic also refuses text with a lone surrogate in it (string_unicode).
ActionName = Annotated[str, StringConstraints(min_length=1, max_length=ACTION_MAX_LENGTH)]
_TIMING_FIELDS = ("delay_minutes", "run_at", "cron", "rate")
# A 64-bit signed integer, as SQLite and most databases store one.
UserId = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
LabelKey = Annotated[str, StringConstraints(pattern=LABEL_KEY_PATTERN)]
LabelValue = Annotated[str, StringConstraints(max_length=LABEL_VALUE_MAX)]
Labels = Annotated[
    dict[LabelKey, LabelValue],
    Field(max_length=MAX_LABELS, description="Up to 10 labels: keys [a-z0-9_.-]{1,64}"),
]
MaxLateness = Annotated[
    int,
    Field(
        ge=MAX_LATENESS_RANGE[0],
        le=MAX_LATENESS_RANGE[1],
        description="A delivery older than this is not run (SKIPPED, reason: late)",
    ),
]
OverlapPolicy = Annotated[
    Overlap,
    Field(description="skip: a fire while another run of the task is running is SKIPPED"),
]


def _timezone(value: str) -> str:
    check_timezone(value)
    return value


def _shallow(value: dict[str, Any]) -> dict[str, Any]:
    if _depth(value) > MAX_DATA_DEPTH:
        raise ValueError(f"data must not nest deeper than {MAX_DATA_DEPTH} levels")
    return value


def _deliverable(value: dict[str, Any]) -> dict[str, Any]:
    """Refuse what the worker could never receive (task_contract.json_problem), with the
    loc of the very key or item: ["body", "data", "key", 0]."""
    found = json_problem(value)
    if found is None:
        return value
    path, reason = found
    error = PydanticCustomError("value_error", "{reason}", {"reason": reason})
    # Raised as a ValidationError, pydantic prefixes the field's own loc to this path. No
    # input: the offending text is what no JSON answer could carry.
    raise ValidationError.from_exception_data(
        "data", [InitErrorDetails(type=error, loc=path, input=None)]
    )


def _rate(value: str) -> str:
    rate = parse_rate(value)
    check_rate_interval(rate)
    return rate.render()


def _in_range(value: datetime) -> datetime:
    check_date_range(value)
    return value


# Validated where they are declared, so POST and PATCH check them alike.
TimeZoneName = Annotated[str, AfterValidator(_timezone)]
CronText = Annotated[str, AfterValidator(lambda value: parse_cron(value).render())]
RateText = Annotated[str, AfterValidator(_rate)]
TaskData = Annotated[dict[str, Any], AfterValidator(_shallow), AfterValidator(_deliverable)]
# A date whose fires this API can compute and list, in any time zone (see check_date_range).
Moment = Annotated[datetime, AfterValidator(_in_range)]


def _depth(value: Any) -> int:
    """How deeply objects and arrays nest in `value` (iterative: no recursion limit)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        )
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in children)
    return deepest


class TaskPayload(BaseModel):
    """The callback body the worker receives (the seed's TaskCallbackRequest)."""

    task_id: TaskId
    user_id: UserId
    action: ActionName
    data: TaskData = Field(default_factory=dict)
    labels: Labels = Field(default_factory=dict)
    overlap: OverlapPolicy = "allow"
    max_lateness_seconds: MaxLateness | None = None

    def callback_body(self) -> dict[str, Any]:
        """The body the worker receives; policy fields only when they differ from the
        defaults, so a schedule without them has the Input it always had."""
        body = self.model_dump()
        for name, default in (("labels", {}), ("overlap", "allow"), ("max_lateness_seconds", None)):
            if body[name] == default:
                del body[name]
        return body


class ScheduleTaskRequest(TaskPayload):
    """Exactly one of delay_minutes, run_at, cron or rate says when the task runs."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "task_id": "payment-reminder-42",
                    "user_id": 456,
                    "action": "send_notification",
                    "delay_minutes": 30,
                    "data": {"notification_type": "payment_expiration"},
                },
                {
                    "task_id": "daily-report",
                    "user_id": 0,
                    "action": "generate_daily_report",
                    "cron": "0 9 * * ? *",
                    "timezone": "Asia/Seoul",
                },
            ]
        },
    )

    delay_minutes: int | None = Field(None, ge=1, le=10080, description="Run once, this late")
    run_at: Moment | None = Field(
        None, description="Run once at this time (ISO 8601; naive times are read in timezone)"
    )
    cron: CronText | None = Field(None, description="AWS 6-field cron, with or without cron(...)")
    rate: RateText | None = Field(None, description="'5 minutes' or 'rate(5 minutes)'")
    timezone: TimeZoneName = Field("UTC", description="IANA time zone the schedule is read in")
    start_date: Moment | None = Field(None, description="Recurring only: first possible run")
    end_date: Moment | None = Field(None, description="Recurring only: last possible run")
    flexible_window_minutes: int | None = Field(None, ge=1, le=1440)

    @model_validator(mode="after")
    def _one_timing(self) -> ScheduleTaskRequest:
        given = [name for name in _TIMING_FIELDS if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of delay_minutes, run_at, cron or rate"
                + (f" (got {', '.join(given)})" if given else "")
            )
        if not self.is_recurring and (self.start_date or self.end_date):
            raise ValueError("start_date and end_date apply only to cron or rate schedules")
        return self

    @property
    def is_recurring(self) -> bool:
        return self.cron is not None or self.rate is not None

    def task(self) -> TaskPayload:
        return TaskPayload.model_validate(
            {name: getattr(self, name) for name in TaskPayload.model_fields}
        )


class SchedulePatchRequest(BaseModel):
    """A partial update: only the fields given change (`null` clears an optional one).
    At most one of delay_minutes, run_at, cron or rate; a one-time schedule may become
    recurring and back. data and labels are replaced whole."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"cron": "0 10 ? * MON-FRI *", "timezone": "Asia/Seoul"},
                {"data": {"notification_type": "final_reminder"}, "labels": {"tier": "gold"}},
            ]
        },
    )

    delay_minutes: int | None = Field(None, ge=1, le=10080)
    run_at: Moment | None = None
    cron: CronText | None = None
    rate: RateText | None = None
    timezone: TimeZoneName | None = None
    start_date: Moment | None = None
    end_date: Moment | None = None
    flexible_window_minutes: int | None = Field(None, ge=1, le=1440)
    action: ActionName | None = None
    data: TaskData | None = None
    labels: Labels | None = None
    overlap: OverlapPolicy | None = None
    max_lateness_seconds: MaxLateness | None = None
    task_id: Any = Field(None, description="Cannot change: schedule a new task instead")
    user_id: Any = Field(None, description="Cannot change: schedule a new task instead")

    @field_validator("task_id", "user_id")
    @classmethod
    def _immutable(cls, _value: Any, info: ValidationInfo) -> Any:
        raise ValueError(f"{info.field_name} cannot change: schedule a new task instead")

    @model_validator(mode="after")
    def _one_timing_at_most(self) -> SchedulePatchRequest:
        given = [name for name in _TIMING_FIELDS if getattr(self, name) is not None]
        if len(given) > 1:
            raise ValueError(
                f"give at most one of {', '.join(_TIMING_FIELDS)} (got {', '.join(given)})"
            )
        return self

    @property
    def timing(self) -> dict[str, Any]:
        return {
            name: getattr(self, name) for name in _TIMING_FIELDS if getattr(self, name) is not None
        }


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
