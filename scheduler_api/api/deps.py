"""FastAPI dependencies, as Annotated aliases so route signatures stay short."""

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from scheduler_api.bootstrap import RunsReader, Runtime
from scheduler_api.services.aws_service import AwsService

NO_RUNS = (
    "Runs are read from the local engine, or in AWS mode from the task ledger: "
    "set LEDGER_TABLE (make deploy-lambda prints it)"
)
NO_DEAD_LETTERS = (
    "Dead letters are kept by the local engine; on AWS, failed tasks are in the "
    "function's on-failure SQS queue"
)


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


# The dependencies are async on purpose: they do no I/O, and FastAPI runs a sync
# dependency on the threadpool, one thread hop each.
async def get_task_scheduler(request: Request) -> AwsService:
    return _runtime(request).service


async def get_local_runtime(request: Request) -> Runtime:
    runtime = _runtime(request)
    if runtime.history is None or runtime.engine is None:
        raise HTTPException(501, NO_DEAD_LETTERS)
    return runtime


async def get_runs_reader(request: Request) -> RunsReader:
    runs = _runtime(request).runs
    if runs is None:
        raise HTTPException(501, NO_RUNS)
    return runs


TaskSchedulerDep = Annotated[AwsService, Depends(get_task_scheduler)]
LocalRuntimeDep = Annotated[Runtime, Depends(get_local_runtime)]
RunsReaderDep = Annotated[RunsReader, Depends(get_runs_reader)]
