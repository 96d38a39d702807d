"""One schedule over its life, by ARN: read it, change it in place, pause and resume it,
run it now, delete it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header, Response
from starlette.concurrency import run_in_threadpool

from scheduler_api.api.deps import AwsServiceDep
from scheduler_api.api.routing import resource_router
from scheduler_api.api.schemas.error_docs import ARN_ERRORS, error_doc
from scheduler_api.api.schemas.schedule import (
    CancelScheduleResponse,
    RunNowResponse,
    ScheduleDetail,
)
from scheduler_api.api.views import decoded_arn, schedule_detail
from scheduler_api.domain.errors import ScheduleNotFoundError
from scheduler_api.services.requests import SchedulePatchRequest

router = resource_router("schedule")

_PATCH_ERRORS: dict[int | str, dict[str, Any]] = {
    409: error_doc("The schedule's Input is not a task of this API"),
    412: error_doc("If-Match no longer matches: the schedule changed since it was read"),
    413: error_doc("The schedule's Input would exceed 256 KB"),
    **ARN_ERRORS,
}
_RESUME_ERRORS: dict[int | str, dict[str, Any]] = {
    409: error_doc("A one-time schedule whose time has passed: PATCH run_at, or run it now"),
    **ARN_ERRORS,
}


@router.get("/schedule/{schedule_arn:path}", response_model=ScheduleDetail, responses=ARN_ERRORS)
async def get_schedule(
    schedule_arn: str, service: AwsServiceDep, response: Response
) -> ScheduleDetail:
    """The schedule, its decoded task and next fires; the ETag header is for a PATCH."""
    schedule = await run_in_threadpool(service.get_schedule, decoded_arn(schedule_arn))
    return schedule_detail(schedule, service, response)


@router.patch(
    "/schedule/{schedule_arn:path}", response_model=ScheduleDetail, responses=_PATCH_ERRORS
)
async def update_schedule(
    schedule_arn: str,
    patch: SchedulePatchRequest,
    service: AwsServiceDep,
    response: Response,
    if_match: Annotated[str | None, Header(description="The ETag from GET or POST")] = None,
) -> ScheduleDetail:
    """Change any of the timing, the task's action, data, labels and policies in place.
    With If-Match, only if the schedule has not changed since that ETag (else 412)."""
    arn = decoded_arn(schedule_arn)
    schedule = await run_in_threadpool(service.update_task, arn, patch, if_match)
    return schedule_detail(schedule, service, response)


@router.post(
    "/schedule/{schedule_arn:path}/pause", response_model=ScheduleDetail, responses=ARN_ERRORS
)
async def pause_schedule(
    schedule_arn: str, service: AwsServiceDep, response: Response
) -> ScheduleDetail:
    """It fires no more until resumed (EventBridge State=DISABLED); pausing twice is a
    no-op."""
    schedule = await run_in_threadpool(service.set_state, decoded_arn(schedule_arn), "DISABLED")
    return schedule_detail(schedule, service, response)


@router.post(
    "/schedule/{schedule_arn:path}/resume", response_model=ScheduleDetail, responses=_RESUME_ERRORS
)
async def resume_schedule(
    schedule_arn: str, service: AwsServiceDep, response: Response
) -> ScheduleDetail:
    """It fires again from its next time after now; fires that fell due while it was
    paused are not run."""
    schedule = await run_in_threadpool(service.set_state, decoded_arn(schedule_arn), "ENABLED")
    return schedule_detail(schedule, service, response)


@router.post(
    "/schedule/{schedule_arn:path}/run",
    status_code=202,
    response_model=RunNowResponse,
    responses=ARN_ERRORS,
)
async def run_now(schedule_arn: str, service: AwsServiceDep) -> RunNowResponse:
    """Run the task once, now, outside its schedule (which is left as it is). Local: the
    engine runs it within a second; AWS: the worker function is invoked asynchronously
    with the schedule's Input, as EventBridge would. It shows in the task's runs."""
    arn = decoded_arn(schedule_arn)
    execution_id, scheduled_time = await run_in_threadpool(service.run_now, arn)
    return RunNowResponse(
        schedule_arn=arn, execution_id=execution_id, scheduled_time=scheduled_time
    )


@router.delete(
    "/schedule/{schedule_arn:path}", response_model=CancelScheduleResponse, responses=ARN_ERRORS
)
async def cancel_schedule(schedule_arn: str, service: AwsServiceDep) -> CancelScheduleResponse:
    arn = decoded_arn(schedule_arn)
    if not await run_in_threadpool(service.cancel_schedule, arn):
        raise ScheduleNotFoundError("schedule not found")
    return CancelScheduleResponse(
        success=True, message="Schedule cancelled successfully", schedule_arn=arn
    )
