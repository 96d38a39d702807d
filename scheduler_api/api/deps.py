"""FastAPI dependencies, as Annotated aliases so route signatures stay short.

The one place that reads `app.state` (set by main's lifespan): routes, auth and the
dashboard take typed parts of it as dependencies. Each is non-optional: a part this
backend does not keep is a 501 here, saying which setting would give it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from scheduler_api.api.ratelimit import GuessLimiter
from scheduler_api.domain.clock import Clock
from scheduler_api.domain.ports import Engine, RunHistory, RunsReader
from scheduler_api.services.aws_service import AwsService
from scheduler_api.services.runtime import Runtime

NO_RUNS = (
    "Runs are read from the local engine, or in AWS mode from the task ledger: "
    "set LEDGER_TABLE (make deploy-lambda prints it)"
)
NO_DEAD_LETTERS = (
    "Dead letters are kept by the local engine; on AWS, failed tasks are in the "
    "function's on-failure SQS queue"
)


@dataclass(frozen=True, kw_only=True)
class Access:
    """Who may call, from settings at start-up (the rule itself: api.auth)."""

    api_tokens: list[str]  # SCHEDULER_API_TOKENS; none: loopback clients only
    metrics_token: str | None  # METRICS_TOKEN: /metrics only
    public_host: str | None  # PUBLIC_URL's host name, a loopback name too
    sign_in_limiter: GuessLimiter  # the dashboard's wrong tokens, per client


# The dependencies are async on purpose: they do no I/O, and FastAPI runs a sync
# dependency on the threadpool, one thread hop each.
async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def get_access(request: Request) -> Access:
    access: Access = request.app.state.access
    return access


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
AccessDep = Annotated[Access, Depends(get_access)]


async def get_aws_service(runtime: RuntimeDep) -> AwsService:
    return runtime.service


async def get_clock(runtime: RuntimeDep) -> Clock:
    """The app's clock (injected in tests)."""
    return runtime.service.clock


async def get_runs_reader(runtime: RuntimeDep) -> RunsReader:
    if runtime.runs is None:
        raise HTTPException(501, NO_RUNS)
    return runtime.runs


async def get_run_history(runtime: RuntimeDep) -> RunHistory:
    if runtime.history is None or runtime.engine is None:
        raise HTTPException(501, NO_DEAD_LETTERS)
    return runtime.history


async def get_engine(runtime: RuntimeDep) -> Engine:
    if runtime.history is None or runtime.engine is None:
        raise HTTPException(501, NO_DEAD_LETTERS)
    return runtime.engine


AwsServiceDep = Annotated[AwsService, Depends(get_aws_service)]
ClockDep = Annotated[Clock, Depends(get_clock)]
RunsReaderDep = Annotated[RunsReader, Depends(get_runs_reader)]
RunHistoryDep = Annotated[RunHistory, Depends(get_run_history)]
EngineDep = Annotated[Engine, Depends(get_engine)]
