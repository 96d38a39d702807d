"""What the routes on one schedule answer: POST, GET, PATCH, pause, resume, run, DELETE."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from scheduler_api.services.requests import TaskPayload


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


class RunNowResponse(BaseModel):
    schedule_arn: str
    execution_id: str = Field(description="The run's id, as its runs and logs show it")
    scheduled_time: datetime = Field(description="Now: the time the run is recorded under")


class CancelScheduleResponse(BaseModel):
    success: bool
    message: str
    schedule_arn: str
