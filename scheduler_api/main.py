"""The scheduler API application: `uvicorn scheduler_api.main:app`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError
from fastapi import FastAPI

from scheduler_api import aws_clients
from scheduler_api.api.errors import install_error_handlers
from scheduler_api.api.routes import health, scheduler
from scheduler_api.backends.eventbridge import EventBridgeBackend
from scheduler_api.clock import Clock, system_clock
from scheduler_api.config import Settings, account_of
from scheduler_api.observability import RequestIdMiddleware, configure_logging
from scheduler_api.services.aws_service import AwsService, ServiceTarget

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_scheduler import EventBridgeSchedulerClient

logger = logging.getLogger("scheduler_api")


def resolve_lambda_arn(settings: Settings, client: LambdaClient | None) -> str:
    """The configured ARN, or one GetFunction at start-up (never one per request)."""
    if settings.lambda_arn:
        return settings.lambda_arn
    assert settings.lambda_function_name is not None  # Settings requires one of the two
    client = client or aws_clients.lambda_client(settings)
    try:
        response = client.get_function(FunctionName=settings.lambda_function_name)
    except (ClientError, BotoCoreError) as exc:
        reason = exc.response["Error"]["Code"] if isinstance(exc, ClientError) else type(exc)
        raise RuntimeError(
            f"cannot resolve SCHEDULER_LAMBDA_FUNCTION_NAME={settings.lambda_function_name!r} "
            f"({reason}); set SCHEDULER_LAMBDA_ARN or fix the name, region and credentials"
        ) from exc
    return response["Configuration"]["FunctionArn"]


def build_service(
    settings: Settings,
    *,
    scheduler_client: EventBridgeSchedulerClient | None = None,
    lambda_client: LambdaClient | None = None,
    clock: Clock = system_clock,
) -> AwsService:
    lambda_arn = resolve_lambda_arn(settings, lambda_client)
    target = ServiceTarget(
        lambda_arn=lambda_arn,
        role_arn=settings.target_role_arn,
        group_name=settings.group_name,
        region=settings.aws_region,
        account_id=settings.account_id or account_of(lambda_arn),
        retry_attempts=settings.retry_attempts,
        max_event_age_seconds=settings.max_event_age_seconds,
        dead_letter_arn=settings.dead_letter_arn,
        callback_path=settings.callback_path,
    )
    client = scheduler_client or aws_clients.scheduler_client(settings)
    return AwsService(EventBridgeBackend(client), target, clock)


def create_app(
    settings: Settings | None = None,
    *,
    scheduler_client: EventBridgeSchedulerClient | None = None,
    lambda_client: LambdaClient | None = None,
    clock: Clock = system_clock,
) -> FastAPI:
    """Settings and clients are read at start-up (lifespan), so a bad setting stops the
    server with a clear message instead of failing the first request."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        resolved = settings or Settings()
        configure_logging(resolved.log_level)
        app.state.aws_service = build_service(
            resolved,
            scheduler_client=scheduler_client,
            lambda_client=lambda_client,
            clock=clock,
        )
        target = app.state.aws_service.target
        logger.info(
            "scheduler API ready: backend=eventbridge region=%s group=%s lambda=%s docs=/docs",
            target.region,
            target.group_name,
            target.lambda_arn,
        )
        yield

    app = FastAPI(
        title="Scheduler API",
        summary="Schedule one-time and recurring tasks on EventBridge Scheduler",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.add_middleware(RequestIdMiddleware)
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(scheduler.router)
    return app


app = create_app()
