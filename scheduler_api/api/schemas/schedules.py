"""The schedule collection: a page of the list (filtered or not) and bulk changes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from scheduler_api.domain.schedules import ScheduleKind
from scheduler_api.services.requests import ActionName, Labels, UserId


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
