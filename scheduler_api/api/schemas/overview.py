"""The dashboard's overview: counts by state, the last hour's runs and their lateness."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


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
