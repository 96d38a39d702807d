"""What happened to tasks: runs, dead letters and redrive (local engine)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import HTTPException, Path, Query
from starlette.concurrency import run_in_threadpool

from scheduler_api.api.deps import EngineDep, RunHistoryDep, RunsReaderDep
from scheduler_api.api.routing import resource_router
from scheduler_api.api.schemas.error_docs import error_doc
from scheduler_api.api.schemas.runs import (
    DeadLetterListResponse,
    DeadLetterOut,
    DismissResponse,
    RedriveResponse,
    RunListResponse,
    RunOut,
)

router = resource_router("runs")

_NOT_LOCAL: dict[int | str, dict[str, Any]] = {
    422: error_doc("Invalid request (names the field)"),
    501: error_doc("Not kept by this backend"),
    503: error_doc("The store is busy or unavailable"),
}
Limit = Annotated[int, Query(ge=1, le=500)]
DeadLetterId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get("/tasks/{task_id}/runs", response_model=RunListResponse, responses=_NOT_LOCAL)
async def task_runs(
    task_id: Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")],
    reader: RunsReaderDep,
    limit: Limit = 50,
) -> RunListResponse:
    """Each execution of the task, newest first (local engine, or the ledger on AWS)."""
    runs = await run_in_threadpool(reader.runs, task_id, limit)
    return RunListResponse(task_id=task_id, runs=[RunOut.model_validate(run) for run in runs])


@router.get("/dead-letters", response_model=DeadLetterListResponse, responses=_NOT_LOCAL)
async def dead_letters(history: RunHistoryDep, limit: Limit = 50) -> DeadLetterListResponse:
    """Executions that failed every attempt, with the full event and each attempt."""
    letters = await run_in_threadpool(history.dead_letters, limit)
    return DeadLetterListResponse(
        dead_letters=[DeadLetterOut.model_validate(letter) for letter in letters]
    )


@router.post(
    "/dead-letters/{dead_letter_id}/redrive",
    response_model=RedriveResponse,
    responses={404: error_doc("No such dead letter"), **_NOT_LOCAL},
)
async def redrive(dead_letter_id: DeadLetterId, engine: EngineDep) -> RedriveResponse:
    """Invoke a dead-lettered execution once more, now, recording a new attempt."""
    status = await run_in_threadpool(engine.redrive, dead_letter_id)
    if status is None:
        raise HTTPException(404, "Dead letter not found, or not dead-lettered any more")
    return RedriveResponse(dead_letter_id=dead_letter_id, status=status)


@router.delete(
    "/dead-letters/{dead_letter_id}",
    response_model=DismissResponse,
    responses={404: error_doc("No such dead letter"), **_NOT_LOCAL},
)
async def dismiss(dead_letter_id: DeadLetterId, engine: EngineDep) -> DismissResponse:
    """Forget a dead letter you have dealt with: it leaves the list (its runs stay in the
    task's history). Dismissing it again is a 404."""
    if not await run_in_threadpool(engine.dismiss, dead_letter_id):
        raise HTTPException(404, "Dead letter not found")
    return DismissResponse(dead_letter_id=dead_letter_id, dismissed=True)
