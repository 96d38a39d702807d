"""What the dashboard's overview and schedule table show beside the schedules: counts by
state, the last hour's runs and their lateness, and each task's last run."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Annotated

from fastapi import Query
from pydantic import StringConstraints
from starlette.concurrency import run_in_threadpool

from scheduler_api.api.deps import RunsReaderDep, RuntimeDep
from scheduler_api.api.routing import resource_router
from scheduler_api.api.schemas.error_docs import error_doc
from scheduler_api.api.schemas.overview import LatenessPoint, OverviewResponse
from scheduler_api.api.schemas.runs import LastRunsResponse, RunOut
from scheduler_api.domain.errors import IndexUnavailableError

router = resource_router("overview")
WINDOW = timedelta(hours=1)
MAX_TASKS = 100


@router.get(
    "/overview",
    response_model=OverviewResponse,
    responses={
        502: error_doc("AWS refused the read"),
        503: error_doc("The store is busy or unavailable"),
    },
)
async def overview(runtime: RuntimeDep) -> OverviewResponse:
    """Schedules by state; on the local engine also the last hour's runs by status and
    each one's fire lateness."""
    service = runtime.service
    try:
        counts = await run_in_threadpool(service.count_by_state)
    except IndexUnavailableError:
        counts = None
    if runtime.history is None:
        return OverviewResponse(schedules=counts, runs_last_hour=None, lateness=None)
    runs = await run_in_threadpool(runtime.history.since, service.clock() - WINDOW)
    return OverviewResponse(
        schedules=counts,
        runs_last_hour=dict(Counter(str(run.status) for run in runs)),
        lateness=[
            LatenessPoint(
                scheduled_time=run.scheduled_time,
                lateness_seconds=(run.started_at - run.scheduled_time).total_seconds(),
            )
            for run in runs
            if run.started_at is not None
        ],
    )


TaskIdText = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,128}$")]


@router.get(
    "/tasks/last-runs",
    response_model=LastRunsResponse,
    responses={
        501: error_doc("Runs are not kept by this backend (AWS without LEDGER_TABLE)"),
        502: error_doc("AWS refused the read"),
        503: error_doc("The store is busy or unavailable"),
    },
)
async def last_runs(
    reader: RunsReaderDep,
    task_id: Annotated[list[TaskIdText], Query(min_length=1, max_length=MAX_TASKS)],
) -> LastRunsResponse:
    """Each task's newest run (null if none): one read per task."""

    def newest() -> dict[str, RunOut | None]:
        found: dict[str, RunOut | None] = {}
        for task in task_id:
            runs = reader.runs(task, 1)
            found[task] = RunOut.model_validate(runs[0]) if runs else None
        return found

    return LastRunsResponse(last_runs=await run_in_threadpool(newest))
