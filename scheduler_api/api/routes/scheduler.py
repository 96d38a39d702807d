"""`/scheduler` routes. Each blocking backend call (boto3, SQLite) is handed to the
threadpool with `run_in_threadpool`, so it never stalls the event loop (the seed's
`async def` routes called boto3 directly). The routes themselves are `async def`, so a
request costs one thread hop, not one per sync dependency plus one for the response."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Query, Response
from starlette.concurrency import run_in_threadpool

from scheduler_api.api.auth import protected_router
from scheduler_api.api.deps import TaskSchedulerDep
from scheduler_api.api.schemas.errors import error_doc
from scheduler_api.api.schemas.preview import PreviewResponse
from scheduler_api.api.schemas.schedule import (
    CancelScheduleResponse,
    ScheduleDetail,
    ScheduleTaskResponse,
)
from scheduler_api.api.views import decoded_arn, schedule_detail
from scheduler_api.domain.errors import (
    ExpressionError,
    RequestValidationFailedError,
    ScheduleNotFoundError,
)
from scheduler_api.domain.expressions.parse import (
    AtExpression,
    RateExpression,
    ScheduleExpression,
    check_date_range,
    check_rate_interval,
    check_timezone,
    first_fires,
    local_to_utc,
    parse_expression,
    skipped_local_time,
)
from scheduler_api.services.requests import ScheduleTaskRequest

router = protected_router("scheduler")

AWS_ERRORS: dict[int | str, dict[str, Any]] = {
    422: error_doc("Invalid request (names the field)"),
    502: error_doc("AWS refused the call"),
    503: error_doc("AWS throttled or unavailable; see Retry-After"),
}
ARN_ERRORS: dict[int | str, dict[str, Any]] = {
    400: error_doc("Not a schedule ARN"),
    404: error_doc("No such schedule in this service's group"),
    **AWS_ERRORS,
}


@router.post(
    "/schedule",
    response_model=ScheduleTaskResponse,
    responses={
        409: error_doc("task_id taken"),
        413: error_doc("Body over 64 KB, or Input over 256 KB"),
        **AWS_ERRORS,
    },
)
async def schedule_task(
    request: ScheduleTaskRequest, service: TaskSchedulerDep, response: Response
) -> ScheduleTaskResponse:
    """Schedule a task once (delay_minutes, run_at) or on a recurrence (cron, rate).

    Idempotent per task_id: repeating the same request returns the same schedule.
    """
    scheduled = await run_in_threadpool(service.schedule_task, request)
    response.headers["ETag"] = scheduled.etag
    return ScheduleTaskResponse(
        success=True,
        message="Task scheduled successfully" if scheduled.created else "Task already scheduled",
        schedule_arn=scheduled.arn,
        task_id=request.task_id,
        scheduled_in_minutes=request.delay_minutes,
        schedule_name=scheduled.name,
        schedule_expression=scheduled.expression,
        timezone=scheduled.timezone,
        next_run_times=scheduled.next_run_times,
        etag=scheduled.etag,
    )


@router.delete(
    "/schedule/{schedule_arn:path}", response_model=CancelScheduleResponse, responses=ARN_ERRORS
)
async def cancel_schedule(schedule_arn: str, service: TaskSchedulerDep) -> CancelScheduleResponse:
    arn = decoded_arn(schedule_arn)
    if not await run_in_threadpool(service.cancel_schedule, arn):
        raise ScheduleNotFoundError("schedule not found")
    return CancelScheduleResponse(
        success=True, message="Schedule cancelled successfully", schedule_arn=arn
    )


@router.get("/schedule/{schedule_arn:path}", response_model=ScheduleDetail, responses=ARN_ERRORS)
async def get_schedule(
    schedule_arn: str, service: TaskSchedulerDep, response: Response
) -> ScheduleDetail:
    """The schedule, its decoded task and next fires; the ETag header is for a PATCH."""
    schedule = await run_in_threadpool(service.get_schedule, decoded_arn(schedule_arn))
    return schedule_detail(schedule, service, response)


@router.get(
    "/preview",
    response_model=PreviewResponse,
    responses={422: AWS_ERRORS[422], 503: AWS_ERRORS[503]},
)
async def preview(
    service: TaskSchedulerDep,
    expression: Annotated[str, Query(min_length=1, max_length=256)],
    timezone: Annotated[str, Query(max_length=64)] = "UTC",
    after: datetime | None = None,
    count: Annotated[int, Query(ge=1, le=50)] = 5,
) -> PreviewResponse:
    """Validate an at(), cron() or rate() expression and list the fire times (UTC) of a
    schedule created at `after` (default: now): a rate() fires at once. One that would
    never fire is a 422 saying why, as POST says it."""
    try:
        zone = check_timezone(timezone)
    except ExpressionError as exc:
        raise RequestValidationFailedError("timezone", str(exc), "query") from exc
    try:
        parsed = parse_expression(expression)
        _check_computable(parsed)
    except ExpressionError as exc:
        raise RequestValidationFailedError("expression", str(exc), "query") from exc
    if after is not None:
        try:
            check_date_range(after)
        except ExpressionError as exc:
            raise RequestValidationFailedError("after", str(exc), "query") from exc
    start = service.clock() if after is None else after
    if start.tzinfo is None:
        start = start.replace(tzinfo=zone)
    if isinstance(parsed, AtExpression) and local_to_utc(parsed.when, zone) is None:
        raise RequestValidationFailedError(
            "expression", skipped_local_time(parsed.when, timezone), "query"
        )
    times = first_fires(parsed, zone=zone, created=start, count=count)
    if not times:
        moment = start.isoformat()
        raise RequestValidationFailedError(
            "expression", f"{parsed.render()} never fires after {moment}", "query"
        )
    return PreviewResponse(
        expression=expression, timezone=timezone, after=start, next_run_times=times
    )


def _check_computable(parsed: ScheduleExpression) -> None:
    """What POST would refuse of an expression: an at() outside the years a request may
    give, a rate() longer than MAX_RATE_INTERVAL."""
    if isinstance(parsed, AtExpression):
        check_date_range(parsed.when)
    elif isinstance(parsed, RateExpression):
        check_rate_interval(parsed)
