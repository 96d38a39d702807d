"""The commands the service accepts: a task to schedule (POST) and a partial change to
one (PATCH), with the validators that make POST and PATCH check a field alike.

The HTTP layer takes these as request bodies, and the service validates a merged PATCH as
the POST it amounts to (services.aws_service), so they live with the service, not the API.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

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
from scheduler_api.domain.schedules import Schedule
from scheduler_api.domain.task_input import input_body_text
from task_contract import (
    ACTION_MAX_LENGTH,
    LABEL_KEY_PATTERN,
    LABEL_VALUE_MAX,
    MAX_DATA_DEPTH,
    MAX_LABELS,
    MAX_LATENESS_RANGE,
    TASK_ID_MAX_LENGTH,
    Overlap,
    json_problem,
)

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


def decode_task(schedule: Schedule) -> TaskPayload | None:
    """The task inside a schedule's Input, or None if the Input is not one of ours."""
    body = input_body_text(schedule.spec.target.input)
    if body is None:
        return None
    try:
        return TaskPayload.model_validate_json(body)
    except ValueError:  # pydantic's ValidationError included
        return None
