"""FastAPI dependencies, as Annotated aliases so route signatures stay short.

Routes take typed parts of the Runtime as dependencies. The Runtime is not read from
`app.state`: the router of a scheduler_api.embedding.Scheduler binds its own into each
request's scope (`bind_runtime`), so two schedulers (ours and a host's, or two in one
host) never see each other's, and a host's app.state is never touched. Each part is
non-optional: one this backend does not keep is a 501 here, saying which setting would
give it.

Access (the bearer-token rule, and its clock) is our own app's alone, and the one thing
read from `app.state` (set by main's lifespan): only auth, /metrics and the dashboard
take it, never a route a host embeds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, params

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
    clock: Clock  # the app's clock (injected in tests): dashboard sessions expire by it


# The dependencies are async on purpose: they do no I/O, and FastAPI runs a sync
# dependency on the threadpool, one thread hop each.
RUNTIME_KEY = "scheduler_api.runtime"  # in the ASGI scope of one request
NOT_BOUND = "a scheduler route was reached without its Scheduler's router (bind_runtime)"


def bind_runtime(current: Callable[[], Runtime]) -> params.Depends:
    """A router dependency handing `current()` to the routes below it, for one request.
    FastAPI solves a router's dependencies before its routes' own, so it comes first."""

    async def bound(request: Request) -> None:
        request.scope[RUNTIME_KEY] = current()

    dependency: params.Depends = Depends(bound)
    return dependency


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime | None = request.scope.get(RUNTIME_KEY)
    if runtime is None:
        raise RuntimeError(NOT_BOUND)  # a wiring mistake of ours: a 500, and its traceback
    return runtime


async def get_access(request: Request) -> Access:
    access: Access = request.app.state.access
    return access


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
AccessDep = Annotated[Access, Depends(get_access)]


async def get_aws_service(runtime: RuntimeDep) -> AwsService:
    return runtime.service


async def get_clock(access: AccessDep) -> Clock:
    """Our app's clock (injected in tests), for its sign-in sessions."""
    return access.clock


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
