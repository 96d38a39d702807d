"""An expression's next fire times, checked as POST would check it, before scheduling."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Query

from scheduler_api.api.deps import AwsServiceDep
from scheduler_api.api.routing import resource_router
from scheduler_api.api.schemas.error_docs import AWS_ERRORS
from scheduler_api.api.schemas.preview import PreviewResponse
from scheduler_api.services.previews import preview_fires

router = resource_router("preview")


@router.get(
    "/preview",
    response_model=PreviewResponse,
    responses={422: AWS_ERRORS[422], 503: AWS_ERRORS[503]},
)
async def preview(
    service: AwsServiceDep,
    expression: Annotated[str, Query(min_length=1, max_length=256)],
    timezone: Annotated[str, Query(max_length=64)] = "UTC",
    after: datetime | None = None,
    count: Annotated[int, Query(ge=1, le=50)] = 5,
) -> PreviewResponse:
    """Validate an at(), cron() or rate() expression and list the fire times (UTC) of a
    schedule created at `after` (default: now): a rate() fires at once. One that would
    never fire is a 422 saying why, as POST says it."""
    found = preview_fires(expression, timezone, after, count, service.clock())
    return PreviewResponse(
        expression=expression,
        timezone=timezone,
        after=found.after,
        next_run_times=found.next_run_times,
    )
