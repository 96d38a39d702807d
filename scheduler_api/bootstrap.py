"""Builds what the app runs on, from settings: the EventBridge or the local backend."""

from __future__ import annotations

import functools
import importlib
import sqlite3
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, cast

from botocore.exceptions import BotoCoreError, ClientError

from scheduler_api.backends.aws import clients as aws_clients
from scheduler_api.backends.aws.eventbridge import EventBridgeBackend
from scheduler_api.backends.aws.index.backend import IndexedBackend
from scheduler_api.backends.aws.invoke import LambdaInvoker
from scheduler_api.backends.aws.ledger_runs import LedgerRunHistory
from scheduler_api.backends.local.backend import LocalBackend
from scheduler_api.backends.local.engine.invoker import LambdaHandler
from scheduler_api.backends.local.engine.loop import LocalEngine
from scheduler_api.backends.local.engine.process_invoker import ProcessInvoker
from scheduler_api.backends.local.history import RunHistory
from scheduler_api.backends.local.stats import read_backlog
from scheduler_api.backends.local.store.database import Database
from scheduler_api.backends.local.store.outcomes import RetryPolicy
from scheduler_api.config import (
    LOCAL_ACCOUNT_ID,
    ConfigurationError,
    Settings,
    account_of,
    partition_of,
)
from scheduler_api.domain.clock import Clock
from scheduler_api.domain.errors import BackendUnavailableError
from scheduler_api.domain.names import ScheduleArn
from scheduler_api.observability.metrics import (
    EngineGaugeCollector,
    EngineGauges,
    EngineMetrics,
)
from scheduler_api.services.aws_service import AwsService
from scheduler_api.services.runtime import Runtime
from scheduler_api.services.target import ServiceTarget

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_scheduler import EventBridgeSchedulerClient


def describe(runtime: Runtime, settings: Settings) -> str:
    """The start-up line: which backend, and where."""
    # The port is uvicorn's to know: without PUBLIC_URL, the path on the address it prints.
    base = settings.public_url.rstrip("/") if settings.public_url else ""
    docs = f"dashboard={base}/dashboard docs={base}/docs"
    if runtime.database is not None:
        return (
            f"backend=local db={runtime.database.path.resolve()} "
            f"handler={settings.local_lambda_handler} {docs}"
        )
    target = runtime.service.target
    return (
        f"backend=eventbridge region={target.region} group={target.group_name} "
        f"lambda={target.lambda_arn} {docs}"
    )


def resolve_lambda_arn(settings: Settings, client: LambdaClient) -> str:
    """The configured ARN, or one GetFunction at start-up (never one per request)."""
    if settings.lambda_arn:
        return settings.lambda_arn
    assert settings.lambda_function_name is not None  # Settings requires one of the two
    try:
        response = client.get_function(FunctionName=settings.lambda_function_name)
    except (ClientError, BotoCoreError) as exc:
        reason = exc.response["Error"]["Code"] if isinstance(exc, ClientError) else type(exc)
        raise ConfigurationError(
            f"cannot resolve SCHEDULER_LAMBDA_FUNCTION_NAME={settings.lambda_function_name!r} "
            f"({reason}); set SCHEDULER_LAMBDA_ARN or fix the name, region and credentials"
        ) from exc
    return response["Configuration"]["FunctionArn"]


def _target(
    settings: Settings,
    lambda_arn: str,
    role_arn: str,
    account_id: str,
    *,
    worker_has_ledger: bool = True,
    action_catalog: Callable[[], Iterable[str]] | None = None,
) -> ServiceTarget:
    return ServiceTarget(
        lambda_arn=lambda_arn,
        role_arn=role_arn,
        group_name=settings.group_name,
        region=settings.aws_region,
        account_id=account_id,
        partition=partition_of(lambda_arn),
        retry_attempts=settings.retry_attempts,
        max_event_age_seconds=settings.max_event_age_seconds,
        dead_letter_arn=settings.dead_letter_arn,
        callback_path=settings.callback_path,
        known_actions=settings.action_names,
        # SCHEDULER_KNOWN_ACTIONS, when set (a list, or `*` for no check), decides alone.
        action_catalog=None if settings.known_actions else action_catalog,
        worker_has_ledger=worker_has_ledger,
        callback_secret=_secret(settings),
    )


def _secret(settings: Settings) -> str | None:
    return settings.callback_secret.get_secret_value() if settings.callback_secret else None


def aws_access(settings: Settings) -> aws_clients.AwsAccess:
    """What the boto3 clients need of the settings (the backends never read Settings)."""
    secret = settings.aws_secret_access_key
    return aws_clients.AwsAccess(
        region=settings.aws_region,
        max_attempts=settings.aws_max_attempts,
        endpoint_url=settings.aws_endpoint_url,
        access_key_id=settings.aws_access_key_id,
        secret_access_key=secret.get_secret_value() if secret else None,
    )


def build_aws_runtime(
    settings: Settings,
    clock: Clock,
    scheduler_client: EventBridgeSchedulerClient | None = None,
    lambda_client: LambdaClient | None = None,
    dynamodb_client: DynamoDBClient | None = None,
) -> Runtime:
    access = aws_access(settings)
    lambda_client = lambda_client or aws_clients.lambda_client(access)  # and for run now
    lambda_arn = resolve_lambda_arn(settings, lambda_client)
    assert settings.target_role_arn is not None  # Settings requires it for aws
    account = settings.account_id or account_of(lambda_arn)
    target = _target(settings, lambda_arn, settings.target_role_arn, account)
    client = scheduler_client or aws_clients.scheduler_client(access)
    dynamodb = dynamodb_client
    if dynamodb is None and (settings.ledger_table or settings.schedule_table):
        dynamodb = aws_clients.dynamodb_client(access)
    runs = None
    if settings.ledger_table:
        assert dynamodb is not None
        runs = LedgerRunHistory(settings.ledger_table, dynamodb)
    invoker = LambdaInvoker(lambda_client, _secret(settings))  # run-now signs what it sends
    eventbridge = EventBridgeBackend(client)
    if not settings.schedule_table:  # nothing to find or count by
        service = AwsService(
            backend=eventbridge, finder=None, invoker=invoker, target=target, clock=clock
        )
        return Runtime(service=service, runs=runs)
    assert dynamodb is not None
    indexed = IndexedBackend(
        eventbridge,
        dynamodb,
        settings.schedule_table,
        clock,
        lambda group, name: str(
            ScheduleArn(target.partition, target.region, target.account_id, group, name)
        ),
    )
    service = AwsService(
        backend=indexed, finder=indexed, invoker=invoker, target=target, clock=clock
    )
    return Runtime(service=service, runs=runs)


def build_local_runtime(settings: Settings, clock: Clock) -> Runtime:
    account = settings.account_id or LOCAL_ACCOUNT_ID
    region = settings.aws_region
    lambda_arn = settings.lambda_arn or f"arn:aws:lambda:{region}:{account}:function:local-worker"
    role_arn = settings.target_role_arn or f"arn:aws:iam::{account}:role/local-scheduler"
    handler = load_handler(settings.local_lambda_handler)
    database = open_database(settings)
    engine = LocalEngine(
        database,
        handler=handler,
        clock=clock,
        retry=RetryPolicy(settings.local_max_retries, settings.local_retry_base_seconds),
        concurrency=settings.local_concurrency,
        shutdown_grace_seconds=settings.local_shutdown_grace_seconds,
        observer=EngineMetrics(),
        callback_secret=_secret(settings),
        invoker=(
            ProcessInvoker(settings.local_lambda_handler, settings.local_concurrency)
            if settings.local_invoker == "process"
            else None
        ),
    )
    backend = LocalBackend(
        database,
        region=region,
        account_id=account,
        clock=clock,
        partition=partition_of(lambda_arn),
        on_change=engine.wake,
    )
    # The worker runs in this process and reads the same LEDGER_DB_PATH.
    with_ledger = settings.ledger_db_path is not None
    target = _target(
        settings,
        lambda_arn,
        role_arn,
        account,
        worker_has_ledger=with_ledger,
        action_catalog=handler_actions(settings.local_lambda_handler),
    )
    service = AwsService(
        backend=backend, finder=backend, invoker=backend, target=target, clock=clock
    )
    history = RunHistory(database)
    gauges = functools.partial(read_engine_gauges, database, engine, clock)
    return Runtime(
        service=service,
        runs=history,
        history=history,
        engine=engine,
        database=database,
        count_broken=engine.store.broken_count,
        gauges=EngineGaugeCollector(gauges),
    )


def read_engine_gauges(database: Database, engine: LocalEngine, clock: Clock) -> EngineGauges:
    """The local engine's gauges, read at scrape time: the file's figures and this
    process's own loop."""
    backlog = read_backlog(database, clock().timestamp())
    health = engine.health()
    return EngineGauges(
        dead_letters=backlog.dead_letters,
        due_backlog=backlog.due_executions + backlog.due_fires,
        engine_up=health.running and health.healthy,
    )


def load_handler(dotted_name: str) -> LambdaHandler:
    """`package.module.function`, as a Lambda handler string names it."""
    module_name, _, attribute = dotted_name.rpartition(".")
    try:
        handler = getattr(importlib.import_module(module_name), attribute)
    except Exception as exc:  # the module's own import may fail: its settings, say
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigurationError(
            f"LOCAL_LAMBDA_HANDLER={dotted_name!r} cannot be imported: {reason}"
        ) from exc
    if not callable(handler):
        raise ConfigurationError(f"LOCAL_LAMBDA_HANDLER={dotted_name!r} is not callable")
    result: LambdaHandler = handler
    return result


def handler_actions(dotted_name: str) -> Callable[[], Iterable[str]] | None:
    """The `known_actions` function of the handler's module (lambda_worker.handler has
    one), which load_handler has imported: the worker's action registry, read in this
    process through the module's name, since bootstrap may import nothing of lambda_worker
    (.importlinter). None when the module has none: POST then accepts any action."""
    module = sys.modules.get(dotted_name.rpartition(".")[0])
    catalog = getattr(module, "known_actions", None)
    if not callable(catalog):
        return None
    return cast("Callable[[], Iterable[str]]", catalog)


def open_database(settings: Settings) -> Database:
    path = settings.local_db_path
    try:
        return Database(path, settings.local_busy_timeout_seconds)
    except (OSError, sqlite3.Error, BackendUnavailableError) as exc:
        cause = exc.__cause__ if isinstance(exc, BackendUnavailableError) else exc
        raise ConfigurationError(
            f"LOCAL_DB_PATH={str(path)!r}: cannot create or open the SQLite file there"
            f" ({type(cause).__name__}); choose a writable path"
        ) from exc
