"""The contract the two services share (task_contract.py): one run vocabulary on the local
engine and on AWS. (What each package may import is .importlinter's, see tests/test_layers.py.)"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from fastapi.testclient import TestClient

from lambda_worker.actions import action
from lambda_worker.actions import registry as action_registry
from lambda_worker.app import Worker, get_worker
from lambda_worker.app import app as worker_app
from lambda_worker.config import WorkerConfig
from lambda_worker.handler import lambda_handler
from lambda_worker.ledger.base import Ledger
from lambda_worker.ledger.dynamodb_store import DynamoDBLedgerStore
from lambda_worker.schemas import TaskCallbackRequest
from scheduler_api.main import create_app
from task_contract import RunStatus, TaskFailedError, substitute_context_attributes
from tests.conftest import (
    AUTH,
    GROUP,
    FakeClock,
    LocalApp,
    create_table,
    make_local_settings,
    make_settings,
    task_body,
)
from tests.support.lambda_context import LAMBDA_CONTEXT

if TYPE_CHECKING:
    from mypy_boto3_scheduler import EventBridgeSchedulerClient


@pytest.fixture
def explosive_action() -> Iterator[None]:
    @action("explodes")
    def explodes(task: TaskCallbackRequest) -> None:
        raise RuntimeError("secret=do-not-show")

    yield
    action_registry._actions.pop("explodes", None)


# (status, status_code, error) each backend must show for the same two tasks.
EXPECTED = {
    "raises": (RunStatus.RETRYING, 500, "RuntimeError"),
    # The worker's reason, not only its status (the worker's ledger on AWS, the local
    # engine from the worker's answer).
    "typo": (RunStatus.FAILED, 422, "callback answered 422: Unknown action 'send_notifcation'"),
}
ACTIONS = {"raises": "explodes", "typo": "send_notifcation"}


def outcome(run: dict[str, Any]) -> tuple[str, int, str]:
    assert "do-not-show" not in json.dumps(run)
    return run["status"], run["status_code"], run["error"]


def test_runs_on_the_local_engine_say_what_happened(
    tmp_path: Path, clock: FakeClock, explosive_action: None
) -> None:
    """SCHEDULER_KNOWN_ACTIONS=*: POST leaves the action to the worker, as on AWS."""
    settings = make_local_settings(tmp_path / "s.db", known_actions="*")
    app = create_app(settings, clock=clock, start_engine=False)
    with TestClient(app, headers=AUTH) as client:
        local_app = LocalApp(client, app.state.runtime, clock)
        for task_id, action_name in ACTIONS.items():
            body = {**task_body(task_id, delay_minutes=1), "action": action_name}
            assert local_app.client.post("/scheduler/schedule", json=body).status_code == 200
        local_app.advance(90)
        for task_id, expected in EXPECTED.items():
            (run,) = local_app.runs(task_id)
            assert outcome(run) == expected


def test_runs_on_aws_say_the_same_from_the_ledger(
    scheduler_client: EventBridgeSchedulerClient, clock: FakeClock, explosive_action: None
) -> None:
    """The worker runs the stored Input through its real handler with a DynamoDB ledger;
    the API reads the runs back from the same table."""
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    create_table(dynamodb, "task-ledger")
    ledger = Ledger(
        DynamoDBLedgerStore("task-ledger", dynamodb), in_progress_timeout=900, ttl_seconds=60
    )
    worker_app.dependency_overrides[get_worker] = lambda: Worker(WorkerConfig(), ledger)
    settings = make_settings(ledger_table="task-ledger")
    app = create_app(settings, scheduler_client=scheduler_client, clock=clock)
    try:
        with TestClient(app, headers=AUTH) as client:
            for task_id, action_name in ACTIONS.items():
                body = {**task_body(task_id, delay_minutes=1), "action": action_name}
                assert client.post("/scheduler/schedule", json=body).status_code == 200
                fire(scheduler_client, task_id)
            for task_id, expected in EXPECTED.items():
                (run,) = client.get(f"/scheduler/tasks/{task_id}/runs").json()["runs"]
                assert outcome(run) == expected
    finally:
        worker_app.dependency_overrides.clear()


def fire(scheduler_client: EventBridgeSchedulerClient, name: str) -> None:
    """What EventBridge and Lambda do at the due time (Lambda's retry not included)."""
    stored = scheduler_client.get_schedule(GroupName=GROUP, Name=name)
    text = substitute_context_attributes(
        stored["Target"]["Input"],
        schedule_arn=stored["Arn"],
        scheduled_time="2030-01-01T00:32:00Z",
        execution_id=f"exec-{name}",
        attempt=1,
    )
    with contextlib.suppress(TaskFailedError):  # Lambda would retry it
        lambda_handler(json.loads(text), LAMBDA_CONTEXT)
