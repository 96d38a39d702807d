"""What the schedule routes return, built in one place so every route answers alike (and
so no route imports another)."""

from __future__ import annotations

from urllib.parse import unquote

from fastapi import Response

from scheduler_api.api.schemas.schedule import ScheduleDetail
from scheduler_api.api.schemas.schedules import ScheduleSummaryOut
from scheduler_api.domain.schedules import Schedule, ScheduleListing
from scheduler_api.services.aws_service import AwsService
from scheduler_api.services.etags import etag_of
from scheduler_api.services.requests import decode_task


def decoded_arn(schedule_arn: str) -> str:
    """The ARN may come raw or URL-encoded (once more than the path decoding undoes)."""
    return unquote(schedule_arn) if "%" in schedule_arn else schedule_arn


def schedule_detail(schedule: Schedule, service: AwsService, response: Response) -> ScheduleDetail:
    """The schedule as GET shows it; its ETag also goes into the response header."""
    spec = schedule.spec
    etag = etag_of(schedule)
    response.headers["ETag"] = etag
    return ScheduleDetail(
        schedule_arn=schedule.arn,
        schedule_name=spec.name,
        group_name=spec.group_name,
        state=spec.state,
        schedule_expression=spec.expression,
        timezone=spec.timezone,
        start_date=spec.start_date,
        end_date=spec.end_date,
        flexible_window_minutes=spec.flexible_window_minutes,
        action_after_completion=spec.action_after_completion,
        task=decode_task(schedule),
        next_run_times=[] if schedule.broken else service.next_run_times(schedule),
        created_at=schedule.created_at,
        updated_at=schedule.updated_at,
        broken=schedule.broken,
        etag=etag,
    )


def listing_summary(item: ScheduleListing) -> ScheduleSummaryOut:
    """A schedule in a list: what the backend knew of it (a plain ListSchedules knows the
    name, state and times; the index and the local store know the task too)."""
    return ScheduleSummaryOut(
        schedule_arn=item.arn,
        schedule_name=item.name,
        group_name=item.group_name,
        state=item.state,
        labels=item.labels,
        task_id=item.task_id,
        user_id=item.user_id,
        action=item.action,
        kind=item.kind,
        schedule_expression=item.expression,
        timezone=item.timezone,
        next_fire_time=item.next_fire,
        created_at=item.created_at,
        updated_at=item.updated_at,
        broken=item.broken,
    )
