"""Shared fixtures: fake AWS credentials, moto, a pinned clock and the app under test."""

from __future__ import annotations

import io
import platform
import sys
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import httpx
import pytest
from fastapi.testclient import TestClient
from moto import mock_aws

from lambda_worker.actions import registry as action_registry
from lambda_worker.actions.registry import action
from lambda_worker.ledger.base import LedgerStore
from lambda_worker.ledger.dynamodb_store import DynamoDBLedgerStore
from lambda_worker.ledger.sqlite_store import SQLiteLedgerStore
from lambda_worker.schemas import TaskCallbackRequest
from scheduler_api.backends.aws.index.keys import table_definition
from scheduler_api.backends.local.engine.loop import LocalEngine
from scheduler_api.config import Settings
from scheduler_api.domain.ports import SchedulerBackend
from scheduler_api.main import create_app
from scheduler_api.services.runtime import Runtime
from scripts.deployment.ledger_table import ATTRIBUTES, KEY_SCHEMA
from scripts.package_lambda import Package, build
from tests.support import probe_handler
from tests.support.heap import release_framework_caches
from tests.support.processes import moto_server

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_scheduler import EventBridgeSchedulerClient

LOCAL_RUNTIME = f"python3.{sys.version_info.minor}"
LOCAL_ARCH = "arm64" if platform.machine() in ("arm64", "aarch64") else "x86_64"
REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
GROUP = "tasks"
LAMBDA_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:scheduled-tasks"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/scheduler-invoke"
DLQ_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:scheduler-dlq"
NOW = datetime(2030, 1, 1, 0, 0, 30, tzinfo=UTC)
API_TOKEN = "test-token-0123456789"
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


class FakeClock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials, so nothing here can ever reach a real AWS account."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def release_apps() -> Iterator[None]:
    """Each test's apps (and their boto3 clients) are freed when it ends, not at exit."""
    yield
    release_framework_caches()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def scheduler_client() -> Iterator[EventBridgeSchedulerClient]:
    with mock_aws():
        client = boto3.client("scheduler", region_name=REGION)
        client.create_schedule_group(Name=GROUP)
        client.create_schedule_group(Name="other-team")
        yield client


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "aws_region": REGION,
        "lambda_arn": LAMBDA_ARN,
        "target_role_arn": ROLE_ARN,
        "group_name": GROUP,
        "dead_letter_arn": DLQ_ARN,
        "retry_attempts": 3,
        "max_event_age_seconds": 7200,
        "api_tokens": API_TOKEN,
        "log_format": "text",  # the lines tests read (stderr under pytest is no terminal)
        **overrides,
    }
    return Settings(_env_file=None, **values)


@pytest.fixture
def settings() -> Settings:
    return make_settings()


@pytest.fixture
def client(
    settings: Settings, scheduler_client: EventBridgeSchedulerClient, clock: FakeClock
) -> Iterator[TestClient]:
    app = create_app(settings, scheduler_client=scheduler_client, clock=clock)
    with TestClient(app, headers=AUTH) as test_client:
        yield test_client


def task_body(task_id: str = "task-123", **timing: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "task_id": task_id,
        "user_id": 456,
        "action": "send_notification",
        "data": {"notification_type": "reminder", "message": "Your task is ready"},
    }
    body.update(timing or {"delay_minutes": 30})
    return body


def make_local_settings(db_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "backend": "local",
        "local_db_path": db_path,
        "local_lambda_handler": "tests.support.probe_handler.handler",
        "local_retry_base_seconds": 60,
        "aws_region": REGION,
        "account_id": ACCOUNT,
        "group_name": GROUP,
        "max_event_age_seconds": 3600,
        "api_tokens": API_TOKEN,
        "log_format": "text",  # the lines tests read (stderr under pytest is no terminal)
        **overrides,
    }
    return Settings(_env_file=None, **values)


@dataclass
class LocalApp:
    client: TestClient
    runtime: Runtime
    clock: FakeClock

    @property
    def engine(self) -> LocalEngine:
        assert isinstance(self.runtime.engine, LocalEngine)  # the Runtime types it by its port
        return self.runtime.engine

    def advance(self, seconds: float) -> int:
        """Move the clock on and let the engine do one round; returns runs started."""
        self.clock.advance(timedelta(seconds=seconds))
        return self.engine.tick()

    def runs(self, task_id: str) -> list[dict[str, Any]]:
        response = self.client.get(f"/scheduler/tasks/{task_id}/runs")
        assert response.status_code == 200, response.text
        runs: list[dict[str, Any]] = response.json()["runs"]
        return runs


def open_local_app(db: Path, clock: FakeClock, **overrides: Any) -> tuple[TestClient, LocalApp]:
    """The app on the local backend on `db`, entered, for a test that closes it
    (`client.__exit__`) and opens the same file again (a migration, a restart)."""
    app = create_app(make_local_settings(db, **overrides), clock=clock, start_engine=False)
    client = TestClient(app, headers=AUTH)
    client.__enter__()
    return client, LocalApp(client, app.state.runtime, clock)


@pytest.fixture
def local_app(tmp_path: Path, clock: FakeClock) -> Iterator[LocalApp]:
    """The app on the local backend, with the engine driven by hand on a fake clock."""
    probe_handler.reset()
    settings = make_local_settings(tmp_path / "scheduler.db")
    app = create_app(settings, clock=clock, start_engine=False)
    with TestClient(app, headers=AUTH) as client:
        yield LocalApp(client, app.state.runtime, clock)
    probe_handler.reset()


@pytest.fixture(scope="session")
def local_package(tmp_path_factory: pytest.TempPathFactory) -> Package:
    """The real Lambda zip, built for this interpreter's Python so tests can import it."""
    output = tmp_path_factory.mktemp("dist") / "lambda_worker.zip"
    return build(LOCAL_RUNTIME, LOCAL_ARCH, output)


def create_table(client: Any, name: str = "ledger") -> None:
    client.create_table(
        TableName=name,
        KeySchema=KEY_SCHEMA,  # the table deploy creates
        AttributeDefinitions=ATTRIBUTES,
        BillingMode="PAY_PER_REQUEST",
    )


@pytest.fixture(params=["sqlite", "dynamodb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LedgerStore]:
    if request.param == "sqlite":
        yield SQLiteLedgerStore(tmp_path / "ledger.db")
        return
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client)
        yield DynamoDBLedgerStore("ledger", client)


@dataclass
class Api:
    """The app on one backend or the other, for tests that must hold on both."""

    client: TestClient
    backend: SchedulerBackend
    scheduler: EventBridgeSchedulerClient | None = None  # moto's, in AWS mode

    @property
    def local(self) -> bool:
        return self.scheduler is None


@pytest.fixture(params=["aws", "local"])
def api(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Iterator[Api]:
    if request.param == "aws":
        with mock_aws():
            scheduler = boto3.client("scheduler", region_name=REGION)
            for group in (GROUP, "other-team"):
                scheduler.create_schedule_group(Name=group)
            app = create_app(make_settings(), scheduler_client=scheduler, clock=clock)
            with TestClient(app, headers=AUTH) as client:
                yield Api(client, app.state.runtime.service.backend, scheduler)
    else:
        settings = make_local_settings(tmp_path / "s.db")
        app = create_app(settings, clock=clock, start_engine=False)
        with TestClient(app, headers=AUTH) as client:
            yield Api(client, app.state.runtime.service.backend)


SCHEDULE_TABLE = "schedules"


def create_schedule_table(client: Any, name: str = SCHEDULE_TABLE) -> None:
    """The schedule index as make deploy-lambda creates it."""
    client.create_table(**table_definition(name))


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """One moto_server over HTTP for the session; the tests that use it reset it after."""
    with moto_server() as url:
        yield url


@dataclass
class IndexedApi(Api):
    """The app on AWS with the schedule index (SCHEDULE_TABLE). `scheduler` is a client of
    the test's own; the app's clients (with its retry settings) are below."""

    dynamodb: DynamoDBClient | None = None

    @property
    def writes(self) -> Any:
        return getattr(self.backend, "writes")  # noqa: B009 - IndexedBackend's

    @property
    def app_dynamodb(self) -> DynamoDBClient:
        client: DynamoDBClient = self.writes._client
        return client

    @property
    def app_scheduler(self) -> EventBridgeSchedulerClient:
        client: EventBridgeSchedulerClient = getattr(self.backend, "eventbridge")._client  # noqa: B009
        return client


@contextmanager
def indexed_aws_app(
    clock: FakeClock, endpoint: str | None = None, **settings: Any
) -> Iterator[IndexedApi]:
    """In-process moto, or a moto_server at `endpoint` (boto3 over HTTP). The app makes
    its own clients from its settings, as it does when deployed."""
    with nullcontext() if endpoint else mock_aws():
        scheduler = boto3.client("scheduler", region_name=REGION, endpoint_url=endpoint)
        for group in (GROUP, "other-team"):
            scheduler.create_schedule_group(Name=group)
        dynamodb = boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint)
        create_schedule_table(dynamodb)
        resolved = make_settings(
            schedule_table=SCHEDULE_TABLE, aws_endpoint_url=endpoint, **settings
        )
        app = create_app(resolved, clock=clock)
        try:
            with TestClient(app, headers=AUTH) as client:
                yield IndexedApi(client, app.state.runtime.service.backend, scheduler, dynamodb)
        finally:
            if endpoint:
                httpx.post(f"{endpoint}/moto-api/reset")


@pytest.fixture(params=["local", "aws", "aws-http"])
def finder(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Iterator[Api]:
    """The app where filters work: local, and AWS with the index on moto in-process and
    on a moto_server over HTTP."""
    if request.param == "local":
        settings = make_local_settings(tmp_path / "s.db")
        app = create_app(settings, clock=clock, start_engine=False)
        with TestClient(app, headers=AUTH) as client:
            yield Api(client, app.state.runtime.service.backend)
        return
    endpoint = request.getfixturevalue("moto_endpoint") if request.param == "aws-http" else None
    with indexed_aws_app(clock, endpoint) as api:
        yield api


@contextmanager
def counting_action(name: str) -> Iterator[list[str]]:
    """An action `name` that records each task it really runs, counted from inside it."""
    calls: list[str] = []

    @action(name)
    def count(task: TaskCallbackRequest) -> None:
        calls.append(task.task_id)

    try:
        yield calls
    finally:
        action_registry._actions.pop(name, None)


def make_function(name: str = "scheduled-tasks") -> None:
    """A worker function on moto (which does not run it), for run-now's Invoke."""
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName="worker", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("h.py", "def h(event, context): return None")
    boto3.client("lambda", region_name=REGION).create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="h.h",
        Code={"ZipFile": code.getvalue()},
    )
