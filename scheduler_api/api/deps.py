"""FastAPI dependencies, as Annotated aliases so route signatures stay short."""

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from scheduler_api.services.aws_service import AwsService
from scheduler_api.wiring import Runtime

NO_HISTORY = (
    "Run history is kept by the local engine (SCHEDULER_BACKEND=local); "
    "with EventBridge, see the worker's CloudWatch logs"
)


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_aws_service(request: Request) -> AwsService:
    return get_runtime(request).service


def get_local_runtime(request: Request) -> Runtime:
    runtime = get_runtime(request)
    if runtime.history is None or runtime.engine is None:
        raise HTTPException(501, NO_HISTORY)
    return runtime


AwsServiceDep = Annotated[AwsService, Depends(get_aws_service)]
LocalRuntimeDep = Annotated[Runtime, Depends(get_local_runtime)]
