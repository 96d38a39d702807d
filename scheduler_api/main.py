"""The scheduler API application: `uvicorn scheduler_api.main:app`."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI

from scheduler_api.api.auth import AUTH_RESPONSES, require_caller
from scheduler_api.api.csrf import CrossSiteGuardMiddleware, origin_of
from scheduler_api.api.deps import Access
from scheduler_api.api.docs import install_offline_docs
from scheduler_api.api.error_handlers import install_error_handlers
from scheduler_api.api.limits import BodySizeLimitMiddleware
from scheduler_api.api.middleware import ConfigurationErrorMiddleware
from scheduler_api.api.ratelimit import GuessLimiter
from scheduler_api.api.routes import metrics
from scheduler_api.bootstrap import describe
from scheduler_api.config import (
    ConfigurationError,
    Settings,
    check_multiprocess_dir,
    load_settings,
)
from scheduler_api.dashboard.routes import install_dashboard
from scheduler_api.domain.clock import Clock, system_clock
from scheduler_api.embedding import Scheduler
from scheduler_api.observability.logging import RequestIdMiddleware, configure_logging
from scheduler_api.observability.metrics import RequestMetricsMiddleware, instruments

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_scheduler import EventBridgeSchedulerClient

logger = logging.getLogger("scheduler_api")


def create_app(
    settings: Settings | None = None,
    *,
    scheduler_client: EventBridgeSchedulerClient | None = None,
    lambda_client: LambdaClient | None = None,
    dynamodb_client: DynamoDBClient | None = None,
    clock: Clock = system_clock,
    start_engine: bool = True,
) -> FastAPI:
    """Settings and clients are read at start-up (lifespan), so a bad setting stops the
    server with one line naming it (ConfigurationError) instead of failing the first
    request. The local engine,
    when that backend is chosen, starts and stops with the app (tests that drive it with
    a fake clock pass start_engine=False and call app.state.runtime.engine.tick()).

    The scheduler is the same embedding.Scheduler a host app includes: this app is its
    first host, adding the /scheduler prefix, bearer tokens, middleware and dashboard."""

    def prepared_settings() -> Settings:
        resolved = settings or load_settings()
        configure_logging(resolved.log_level, resolved.log_format)
        start_metrics()
        return resolved

    scheduler = Scheduler(
        prepared_settings,
        clock=clock,
        scheduler_client=scheduler_client,
        lambda_client=lambda_client,
        dynamodb_client=dynamodb_client,
        start_engine=start_engine,
        hurry_on_interrupt=True,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with scheduler.lifespan():
            resolved, runtime = scheduler.settings, scheduler.runtime
            app.state.runtime = runtime  # for tests and tools: routes read the binding
            secret = resolved.metrics_token
            app.state.access = Access(
                api_tokens=resolved.tokens,
                metrics_token=secret.get_secret_value() if secret else None,
                public_host=(
                    urlsplit(resolved.public_url).hostname if resolved.public_url else None
                ),
                sign_in_limiter=GuessLimiter(),
                clock=clock,
            )
            # Read by the cross-site guard, a middleware (it runs before any dependency).
            app.state.public_origin = (
                origin_of(resolved.public_url) if resolved.public_url else None
            )
            if not resolved.tokens:
                logger.warning(
                    "SCHEDULER_API_TOKENS is not set: /scheduler answers loopback clients only"
                )
            logger.info("scheduler API ready: %s", describe(runtime, resolved))
            yield

    app = FastAPI(
        title="Scheduler API",
        summary="Schedule one-time and recurring tasks on EventBridge Scheduler",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served with local assets: install_offline_docs
        redoc_url=None,
    )
    app.add_middleware(BodySizeLimitMiddleware)
    app.add_middleware(CrossSiteGuardMiddleware)  # before the body is read
    app.add_middleware(RequestMetricsMiddleware)
    app.add_middleware(RequestIdMiddleware)  # outside the body limit: the 413 carries its id
    app.add_middleware(ConfigurationErrorMiddleware)  # start-up only
    install_error_handlers(app)
    install_offline_docs(app)
    install_dashboard(app)
    app.include_router(scheduler.health_router)
    app.include_router(metrics.router, dependencies=[scheduler.binding])
    app.include_router(
        scheduler.router,
        prefix="/scheduler",
        dependencies=[Depends(require_caller)],
        responses=AUTH_RESPONSES,
    )
    return app


def start_metrics() -> None:
    """Make the metrics now, so a multiprocess directory that cannot be written stops the
    start with one line rather than failing requests later."""
    check_multiprocess_dir(os.environ)
    try:
        instruments()
    except OSError as exc:  # e.g. removed or made read-only since it was checked
        raise ConfigurationError(
            f"bad setting: PROMETHEUS_MULTIPROC_DIR: cannot write there ({exc.strerror})"
        ) from None


app = create_app()
