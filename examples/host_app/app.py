"""An app that already exists (its own API key, its own /hello), with the scheduler added
under /jobs: `uvicorn --factory examples.host_app.app:create_host_app`.

The host decides everything around the scheduler: where its settings come from (here,
the host's own HOST_APP_* variables, turned into explicit scheduler settings), its URL
prefix, and who may call it (the host's X-API-Key, not the scheduler's bearer tokens).
"""

from __future__ import annotations

import hmac
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Security
from fastapi.security import APIKeyHeader
from pydantic import BaseModel

from scheduler_api.embedding import Scheduler, scheduler_settings

API_KEY = APIKeyHeader(name="X-API-Key", auto_error=False, description="The host's own key")


@dataclass(frozen=True)
class HostConfig:
    """The host's configuration, read its own way."""

    api_key: str
    scheduler_db: str = "var/host-app-jobs.db"
    task_handler: str = "lambda_worker.handler.lambda_handler"
    shutdown_grace_seconds: float = 10.0

    @classmethod
    def from_environment(cls) -> HostConfig:
        return cls(
            api_key=os.environ["HOST_APP_API_KEY"],
            scheduler_db=os.environ.get("HOST_APP_SCHEDULER_DB", cls.scheduler_db),
            task_handler=os.environ.get("HOST_APP_TASK_HANDLER", cls.task_handler),
            shutdown_grace_seconds=float(os.environ.get("HOST_APP_SHUTDOWN_GRACE", "10")),
        )


class ApiKeyAuth:
    """The host's auth dependency: one key in X-API-Key (the host's rule, not ours)."""

    def __init__(self, key: str) -> None:
        self._key = key.encode()

    async def __call__(self, given: Annotated[str | None, Security(API_KEY)]) -> None:
        if given is None or not hmac.compare_digest(given.encode(), self._key):
            raise HTTPException(401, "Missing or wrong X-API-Key")


class Greeting(BaseModel):
    message: str


host_routes = APIRouter(tags=["host"])


@host_routes.get("/hello", response_model=Greeting)
async def hello() -> Greeting:
    """The host's own route, there before the scheduler was."""
    return Greeting(message="hello from the host app")


def scheduler_for(config: HostConfig) -> Scheduler:
    return Scheduler(
        scheduler_settings(
            backend="local",
            local_db_path=config.scheduler_db,
            local_lambda_handler=config.task_handler,
            local_shutdown_grace_seconds=config.shutdown_grace_seconds,
        )
    )


def build_app(config: HostConfig, scheduler: Scheduler | None) -> FastAPI:
    """The host app, with the scheduler or (scheduler=None) as it was without it."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # The host's own resources would open here, before the scheduler's engine starts
        # (and close after it stops), so a task's handler can use them.
        if scheduler is None:
            yield
            return
        async with scheduler.lifespan():
            yield

    auth = Depends(ApiKeyAuth(config.api_key))
    app = FastAPI(title="Host app", version="1.0.0", lifespan=lifespan)
    app.include_router(host_routes, dependencies=[auth])
    if scheduler is not None:
        app.include_router(scheduler.router, prefix="/jobs", dependencies=[auth])
        app.include_router(scheduler.health_router, prefix="/jobs")  # open, for probes
    return app


def create_host_app() -> FastAPI:
    """`uvicorn --factory examples.host_app.app:create_host_app`: nothing runs at import."""
    config = HostConfig.from_environment()
    return build_app(config, scheduler_for(config))
