"""The scheduler inside a FastAPI app you already have (docs/embedding.md).

    from scheduler_api.embedding import Scheduler, scheduler_settings

    scheduler = Scheduler(scheduler_settings(backend="local", local_db_path="var/jobs.db"))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with scheduler.lifespan():  # builds the backend, starts and stops the engine
            yield

    app = FastAPI(lifespan=lifespan)
    app.include_router(scheduler.router, prefix="/jobs", dependencies=[Depends(your_auth)])

What it adds to the host is its routes and nothing else: no middleware, no exception
handler (the routes answer our errors themselves: api.routing.SchedulerRoute), nothing in
`app.state` (the routes reach this object's runtime through the router: api.deps), no
logging set-up. Our own app (scheduler_api.main) is built from the same object, with its
own middleware, bearer tokens and dashboard around it.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, Any

import anyio.to_thread
from fastapi import APIRouter, HTTPException
from pydantic import ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from scheduler_api.api.deps import bind_runtime
from scheduler_api.api.routes import health, overview, preview, runs, schedule, schedules
from scheduler_api.bootstrap import build_aws_runtime, build_local_runtime
from scheduler_api.config import ConfigurationError, Settings, describe_errors
from scheduler_api.domain.clock import Clock, system_clock
from scheduler_api.domain.ports import Engine
from scheduler_api.services.runtime import Runtime

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_scheduler import EventBridgeSchedulerClient

__all__ = ["Scheduler", "SchedulerNotRunningError", "scheduler_settings"]

logger = logging.getLogger("scheduler_api")

NOT_RUNNING = "The scheduler is not running (the app's lifespan has not entered it)"


class SchedulerNotRunningError(RuntimeError):
    """`Scheduler.runtime` outside `Scheduler.lifespan()`."""


class _ExplicitSettings(Settings):
    """Settings from the values given only: no environment variable, no `.env`."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],  # noqa: ARG003 - pydantic-settings' signature
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,  # noqa: ARG003 - pydantic-settings' signature
        dotenv_settings: PydanticBaseSettingsSource,  # noqa: ARG003 - pydantic-settings' signature
        file_secret_settings: PydanticBaseSettingsSource,  # noqa: ARG003 - pydantic-settings' signature
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def scheduler_settings(**values: Any) -> Settings:
    """Settings from these values (Settings' field names, e.g. backend="local",
    local_db_path=...), the defaults for the rest, checked by the same rules; nothing is
    read from the environment or `.env`, so the host's own variables cannot change them.
    A bad value is a ConfigurationError naming it."""
    try:
        return _ExplicitSettings(**values)
    except ValidationError as exc:
        raise ConfigurationError(f"bad setting: {describe_errors(exc)}") from None


class Scheduler:
    """One scheduler: its backend (and local engine), built when `lifespan()` is entered,
    and the routers that reach it. Two instances share nothing, in one app or in two.

    `settings` may be a function returning them, called when the lifespan is entered
    (our app reads the environment then). The boto3 clients and the clock are for tests;
    start_engine=False leaves the engine to be driven by hand (runtime.engine.tick()).
    hurry_on_interrupt lets a Ctrl-C during shutdown cut the engine's grace short: it
    swaps the process's SIGINT handler while stopping, so it is off unless asked for."""

    def __init__(
        self,
        settings: Settings | Callable[[], Settings],
        *,
        clock: Clock = system_clock,
        scheduler_client: EventBridgeSchedulerClient | None = None,
        lambda_client: LambdaClient | None = None,
        dynamodb_client: DynamoDBClient | None = None,
        start_engine: bool = True,
        hurry_on_interrupt: bool = False,
    ) -> None:
        self._settings_source = settings
        self._clock = clock
        self._clients = (scheduler_client, lambda_client, dynamodb_client)
        self._start_engine = start_engine
        self._hurry_on_interrupt = hurry_on_interrupt
        self._runtime: Runtime | None = None
        self._entries = 0  # lifespans inside _running() now
        self._entries_lock = threading.Lock()
        self._idle = threading.Event()  # cleared while the last exit stops the engine
        self._idle.set()
        self._settings: Settings | None = None
        self.binding = bind_runtime(self._bound_runtime)
        """The dependency that hands this scheduler's runtime to a request: on both
        routers; our app adds it to its /metrics."""
        binding = self.binding
        self.router = APIRouter(dependencies=[binding])
        """The API: /schedule, /schedules, /schedule/{arn}, /preview, /overview, runs and
        dead letters. No prefix and no access rule: include it with yours."""
        for module in (schedules, schedule, preview, overview, runs):
            self.router.include_router(module.router)
        self.health_router = APIRouter(dependencies=[binding])
        """GET /health: 200, or 503 when the local engine stops completing rounds. Apart
        from `router` so that a host can leave it open to its load balancer."""
        self.health_router.include_router(health.router)

    @property
    def runtime(self) -> Runtime:
        """What the routes run on (the service, the engine, ...), while running."""
        if self._runtime is None:
            raise SchedulerNotRunningError(NOT_RUNNING)
        return self._runtime

    @property
    def settings(self) -> Settings:
        """The settings in use, once the lifespan has been entered."""
        if self._settings is None:
            raise SchedulerNotRunningError(NOT_RUNNING)
        return self._settings

    def lifespan(self, _app: object = None) -> AbstractAsyncContextManager[None]:
        """Enter it in the host's lifespan (`async with scheduler.lifespan(): yield`), or
        pass it as one (`FastAPI(lifespan=scheduler.lifespan)`): builds the backend,
        starts the engine, and on shutdown stops it within LOCAL_SHUTDOWN_GRACE_SECONDS."""
        return self._running()

    @asynccontextmanager
    async def _running(self) -> AsyncIterator[None]:
        """Shared by every lifespan that enters it (a test client and a fuzzer on one app,
        say): the first entry builds the runtime and starts the engine, the last exit
        stops it. A second runtime on the same database would run every fire twice, so an
        entry that comes while the last exit is still stopping the engine waits for it."""
        await self._enter()
        try:
            yield
        finally:
            await self._exit()

    async def _enter(self) -> None:
        while True:
            await anyio.to_thread.run_sync(self._idle.wait)
            with self._entries_lock:
                if not self._idle.is_set():
                    continue  # another exit began stopping since the wait ended
                if self._entries == 0:
                    self._start()  # raises with nothing left open, the count unchanged
                self._entries += 1
                return

    async def _exit(self) -> None:
        with self._entries_lock:
            self._entries -= 1
            if self._entries > 0:
                return
            runtime, self._runtime = self._runtime, None
            self._idle.clear()
        try:
            if runtime is not None:
                await self._stop(runtime)
        finally:
            self._idle.set()

    def _start(self) -> None:
        settings = (
            self._settings_source
            if isinstance(self._settings_source, Settings)
            else self._settings_source()
        )
        runtime = self._build(settings)
        try:
            if self._start_engine and runtime.engine is not None:
                runtime.engine.start()
        except BaseException:
            if runtime.database is not None:
                runtime.database.close()  # nothing half-started stays open
            raise
        self._settings, self._runtime = settings, runtime

    async def _stop(self, runtime: Runtime) -> None:
        try:
            if self._start_engine and runtime.engine is not None:
                await stop_engine(runtime.engine, hurry_on_interrupt=self._hurry_on_interrupt)
        finally:
            if runtime.database is not None:
                runtime.database.close()

    def _build(self, settings: Settings) -> Runtime:
        if settings.backend_name == "local":
            return build_local_runtime(settings, self._clock)
        return build_aws_runtime(settings, self._clock, *self._clients)

    def _bound_runtime(self) -> Runtime:
        if self._runtime is None:
            raise HTTPException(503, NOT_RUNNING)
        return self._runtime


async def stop_engine(engine: Engine, *, hurry_on_interrupt: bool) -> None:
    """Stop the engine off the event loop, bounded by its grace period; meanwhile, when
    asked, a second Ctrl-C cuts the grace short (uvicorn's own handler cannot: its loop
    waits for us)."""
    logger.info(
        "stopping the local engine: waiting up to %.0f s for running actions%s",
        engine.shutdown_grace_seconds,
        " (Ctrl-C again to stop now)" if hurry_on_interrupt else "",
    )
    if not hurry_on_interrupt:
        await anyio.to_thread.run_sync(engine.stop)
        return
    with _interrupt_hurries(engine):
        await anyio.to_thread.run_sync(engine.stop)


@contextmanager
def _interrupt_hurries(engine: Engine) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach the main thread only (a TestClient runs the app elsewhere)
        return
    previous = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, lambda _signum, _frame: engine.hurry())
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
