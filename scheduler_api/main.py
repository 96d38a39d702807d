"""The scheduler API application: `uvicorn scheduler_api.main:app`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI

from scheduler_api.api.errors import install_error_handlers
from scheduler_api.api.limits import BodySizeLimitMiddleware
from scheduler_api.api.routes import health, runs, scheduler
from scheduler_api.clock import Clock, system_clock
from scheduler_api.config import Settings
from scheduler_api.observability import RequestIdMiddleware, configure_logging
from scheduler_api.wiring import Runtime, build_aws_runtime, build_local_runtime

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_scheduler import EventBridgeSchedulerClient

logger = logging.getLogger("scheduler_api")


def create_app(
    settings: Settings | None = None,
    *,
    scheduler_client: EventBridgeSchedulerClient | None = None,
    lambda_client: LambdaClient | None = None,
    clock: Clock = system_clock,
    start_engine: bool = True,
) -> FastAPI:
    """Settings and clients are read at start-up (lifespan), so a bad setting stops the
    server with a clear message instead of failing the first request. The local engine,
    when that backend is chosen, starts and stops with the app (tests that drive it with
    a fake clock pass start_engine=False and call app.state.runtime.engine.tick())."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        resolved = settings or Settings()
        configure_logging(resolved.log_level)
        runtime: Runtime
        if resolved.backend_name == "local":
            runtime = build_local_runtime(resolved, clock)
        else:
            runtime = build_aws_runtime(resolved, clock, scheduler_client, lambda_client)
        app.state.runtime = runtime
        app.state.task_scheduler = runtime.service
        app.state.api_tokens = resolved.tokens
        if not resolved.tokens:
            logger.warning(
                "SCHEDULER_API_TOKENS is not set: /scheduler answers loopback clients only"
            )
        if runtime.engine is not None and start_engine:
            runtime.engine.start()
        logger.info("scheduler API ready: %s", runtime.describe(resolved))
        try:
            yield
        finally:
            if runtime.engine is not None and start_engine:
                runtime.engine.stop()
            if runtime.database is not None:
                runtime.database.close()

    app = FastAPI(
        title="Scheduler API",
        summary="Schedule one-time and recurring tasks on EventBridge Scheduler",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.add_middleware(BodySizeLimitMiddleware)
    app.add_middleware(RequestIdMiddleware)  # outermost: the 413 above carries its id
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(scheduler.router)
    app.include_router(runs.router)
    return app


app = create_app()
