"""Finding schedules among thousands (filters, sorted by next fire), and acting on all
that a filter selects (bulk delete, pause, resume)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Query
from starlette.concurrency import run_in_threadpool

from scheduler_api.api.auth import protected_router
from scheduler_api.api.deps import TaskSchedulerDep
from scheduler_api.api.routes.scheduler import AWS_ERRORS
from scheduler_api.api.schemas.errors import error_doc
from scheduler_api.api.schemas.schedules import (
    BulkRequest,
    BulkResponse,
    ScheduleListResponse,
    ScheduleSummaryOut,
)
from scheduler_api.domain.errors import IndexUnavailableError, RequestValidationFailedError
from scheduler_api.domain.schedules import (
    IndexedSchedule,
    ScheduleFilter,
    ScheduleKind,
    ScheduleSummary,
)
from scheduler_api.services.bulk import run_bulk
from task_contract import MAX_LABELS

router = protected_router("finding")

_FIND_ERRORS: dict[int | str, dict[str, Any]] = {
    501: error_doc("A filter on AWS without the schedule index (SCHEDULE_TABLE)"),
    **AWS_ERRORS,
}
AWS_LIST_MAX = 100  # ListSchedules' MaxResults


@router.get("/schedules", response_model=ScheduleListResponse, responses=_FIND_ERRORS)
async def list_schedules(
    service: TaskSchedulerDep,
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
            schedules=[_listed(item) for item in listed.schedules], next_token=listed.next_token
        )
    return ScheduleListResponse(
        schedules=[_indexed(item) for item in page.items], next_token=page.next_token
    )


@router.post("/schedules/bulk", response_model=BulkResponse, responses=_FIND_ERRORS)
async def bulk(request: BulkRequest, service: TaskSchedulerDep) -> BulkResponse:
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
        items=[_indexed(item) for item in result.preview],
    )


def _labels(pairs: list[str]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for pair in pairs:
        key, colon, value = pair.partition(":")
        if not colon or not key:
            raise RequestValidationFailedError("label", "label must be key:value", "query")
        labels[key] = value
    return labels


def _indexed(item: IndexedSchedule) -> ScheduleSummaryOut:
    return _listed(item).model_copy(
        update={
            "task_id": item.task_id,
            "user_id": item.user_id,
            "action": item.action,
            "kind": item.kind,
            "schedule_expression": item.expression,
            "timezone": item.timezone,
            "next_fire_time": item.next_fire,
        }
    )


def _listed(item: ScheduleSummary | IndexedSchedule) -> ScheduleSummaryOut:
    """What both ListSchedules and the index know."""
    return ScheduleSummaryOut(
        schedule_arn=item.arn,
        schedule_name=item.name,
        group_name=item.group_name,
        state=item.state,
        labels=item.labels,
        created_at=item.created_at,
        updated_at=item.updated_at,
        broken=item.broken,
    )
