"""What happened to tasks: runs, each task's last run, dead letters and redrive."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from task_contract import RunStatus


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
    duration_seconds: float | None = Field(
        None,
        description=(
            "How long the action ran (local: its attempts summed, without the backoff between "
            "them; AWS: its last attempt); null until it finishes"
        ),
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


class DismissResponse(BaseModel):
    dead_letter_id: int
    dismissed: bool = Field(description="Always true: an unknown id is a 404")


class LastRunsResponse(BaseModel):
    last_runs: dict[str, RunOut | None]
