"""The schedule collection: create one (POST), list or find them among thousands (filters,
sorted by next fire), and act on all that a filter selects (bulk delete, pause, resume)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Query, Response
from starlette.concurrency import run_in_threadpool

from scheduler_api.api.deps import AwsServiceDep
from scheduler_api.api.routing import resource_router
from scheduler_api.api.schemas.error_docs import AWS_ERRORS, error_doc
from scheduler_api.api.schemas.schedule import ScheduleTaskResponse
from scheduler_api.api.schemas.schedules import BulkRequest, BulkResponse, ScheduleListResponse
from scheduler_api.api.views import listing_summary
from scheduler_api.domain.errors import IndexUnavailableError, RequestValidationFailedError
from scheduler_api.domain.schedules import ScheduleFilter, ScheduleKind
from scheduler_api.services.bulk import run_bulk
from scheduler_api.services.requests import ScheduleTaskRequest
from task_contract import MAX_LABELS

router = resource_router("schedules")

_FIND_ERRORS: dict[int | str, dict[str, Any]] = {
    501: error_doc("A filter on AWS without the schedule index (SCHEDULE_TABLE)"),
    **AWS_ERRORS,
}
AWS_LIST_MAX = 100  # ListSchedules' MaxResults


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
    request: ScheduleTaskRequest, service: AwsServiceDep, response: Response
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


@router.get("/schedules", response_model=ScheduleListResponse, responses=_FIND_ERRORS)
async def list_schedules(
    service: AwsServiceDep,
    user_id: Annotated[int | None, Query(ge=-(2**63), le=2**63 - 1)] = None,
    action: Annotated[str | None, Query(max_length=128)] = None,
    state: Literal["ENABLED", "DISABLED"] | None = None,
    label: Annotated[
        list[str],
        Query(
            max_length=MAX_LABELS,  # a task has at most as many; each is a clause of the query
            description=f"key:value; repeat to AND several (at most {MAX_LABELS})",
        ),
    ] = [],  # noqa: B006 - FastAPI copies it
    kind: ScheduleKind | None = None,
    next_before: datetime | None = None,
    next_after: datetime | None = None,
    task_id_prefix: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    next_token: Annotated[str | None, Query(max_length=2048)] = None,
) -> ScheduleListResponse:
    """This service's schedules matching every filter given, by next fire time then
    task_id, a page at a time: pass next_token for the next (it stays valid while
    schedules are added or removed)."""
    where = ScheduleFilter(
        user_id=user_id,
        action=action,
        state=state,
        labels=_labels(label),
        kind=kind,
        next_before=next_before,
        next_after=next_after,
        task_id_prefix=task_id_prefix,
    )
    try:
        page = await run_in_threadpool(
            service.find_schedules, where, limit=limit, next_token=next_token
        )
    except IndexUnavailableError:
        if not where.is_empty:
            raise
        # No index (AWS without SCHEDULE_TABLE): the unfiltered list, from ListSchedules.
        listed = await run_in_threadpool(
            service.list_schedules, limit=min(limit, AWS_LIST_MAX), next_token=next_token
        )
        return ScheduleListResponse(
            schedules=[listing_summary(item) for item in listed.schedules],
            next_token=listed.next_token,
        )
    return ScheduleListResponse(
        schedules=[listing_summary(item) for item in page.schedules], next_token=page.next_token
    )


@router.post("/schedules/bulk", response_model=BulkResponse, responses=_FIND_ERRORS)
async def bulk(request: BulkRequest, service: AwsServiceDep) -> BulkResponse:
    """Delete, pause or resume every schedule the filter selects ({"all": true} for all).
    A dry run says how many match and shows the first 100. Safe to repeat: a job cut
    short is finished by the same request, and nothing is counted twice."""
    where = ScheduleFilter(**request.filter.model_dump(exclude={"all"}))
    result = await run_in_threadpool(
        run_bulk, service, request.operation, where, dry_run=request.dry_run
    )
    return BulkResponse(
        operation=request.operation,
        dry_run=request.dry_run,
        matched=result.matched,
        changed=result.changed,
        failed=result.failed,
        items=[listing_summary(item) for item in result.preview],
    )


def _labels(pairs: list[str]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for pair in pairs:
        key, colon, value = pair.partition(":")
        if not colon or not key:
            raise RequestValidationFailedError("label", "label must be key:value", "query")
        labels[key] = value
    return labels
