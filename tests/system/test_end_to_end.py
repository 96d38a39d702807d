"""The contract between the two services, and the API as a real process.

POST /scheduler/schedule -> the schedule's Target.Input as stored -> the substitution
EventBridge performs -> json.loads -> the worker's real lambda_handler.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import httpx
import pytest
from fastapi.testclient import TestClient

from lambda_worker.actions import action
from lambda_worker.actions import registry as action_registry
from lambda_worker.handler import lambda_handler
from lambda_worker.schemas import TaskCallbackRequest
from task_contract import ProxyEvent, substitute_context_attributes
from tests.conftest import GROUP, LAMBDA_ARN, REGION, ROLE_ARN, task_body
from tests.support.lambda_context import LAMBDA_CONTEXT
from tests.support.processes import moto_server, scheduler_api

if TYPE_CHECKING:
    from mypy_boto3_scheduler import EventBridgeSchedulerClient


@pytest.fixture
def ran() -> Iterator[list[TaskCallbackRequest]]:
    """A `contract_probe` action that records every task it runs."""
    calls: list[TaskCallbackRequest] = []

    @action("contract_probe")
    def contract_probe(task: TaskCallbackRequest) -> dict[str, Any]:
        calls.append(task)
        return {"seen": task.task_id}

    yield calls
    action_registry._actions.pop("contract_probe", None)


def fire(schedule: Any, scheduled_time: str = "2030-01-01T00:31:00Z") -> dict[str, Any]:
    """What EventBridge Scheduler hands Lambda when the schedule fires."""
    text = substitute_context_attributes(
        schedule["Target"]["Input"],
        schedule_arn=schedule["Arn"],
        scheduled_time=scheduled_time,
        execution_id="c0ffee-0001",
        attempt=1,
    )
    event: ProxyEvent = json.loads(text)
    return lambda_handler(event, LAMBDA_CONTEXT)


def test_scheduled_payload_runs_through_the_real_handler(
    client: TestClient,
    scheduler_client: EventBridgeSchedulerClient,
    ran: list[TaskCallbackRequest],
) -> None:
    body = {**task_body("contract-1"), "action": "contract_probe", "data": {"x": [1, "ü"]}}
    assert client.post("/scheduler/schedule", json=body).status_code == 200
    schedule = scheduler_client.get_schedule(GroupName=GROUP, Name="contract-1")
    response = fire(schedule)
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["result"] == {"seen": "contract-1"}
    assert [(t.task_id, t.user_id, t.data) for t in ran] == [("contract-1", 456, {"x": [1, "ü"]})]


def test_recurring_payload_runs_through_the_real_handler(
    client: TestClient,
    scheduler_client: EventBridgeSchedulerClient,
    ran: list[TaskCallbackRequest],
) -> None:
    body = {**task_body("nightly", cron="0 3 * * ? *"), "action": "contract_probe"}
    assert client.post("/scheduler/schedule", json=body).status_code == 200
    schedule = scheduler_client.get_schedule(GroupName=GROUP, Name="nightly")
    for day in ("2030-01-02T03:00:00Z", "2030-01-03T03:00:00Z"):
        assert fire(schedule, day)["statusCode"] == 200
    assert len(ran) == 2


def test_api_process_against_a_moto_server(tmp_path: Path, ran: list[TaskCallbackRequest]) -> None:
    """uvicorn serving scheduler_api.main:app, boto3 over HTTP to moto_server."""
    with moto_server() as endpoint:
        aws = boto3.client("scheduler", region_name=REGION, endpoint_url=endpoint)
        aws.create_schedule_group(Name=GROUP)
        env = {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_REGION": REGION,
            "SCHEDULER_LAMBDA_ARN": LAMBDA_ARN,
            "SCHEDULER_TARGET_ROLE_ARN": ROLE_ARN,
            "SCHEDULER_GROUP_NAME": GROUP,
        }
        with scheduler_api(env, cwd=tmp_path) as api:
            body = {**task_body("over-http", delay_minutes=5), "action": "contract_probe"}
            created = httpx.post(f"{api}/scheduler/schedule", json=body, timeout=10)
            assert created.status_code == 200, created.text
            arn = created.json()["schedule_arn"]

            schedule = aws.get_schedule(GroupName=GROUP, Name="over-http")
            assert schedule["Arn"] == arn
            assert schedule["ActionAfterCompletion"] == "DELETE"
            assert fire(schedule)["statusCode"] == 200
            assert [t.task_id for t in ran] == ["over-http"]

            detail = httpx.get(f"{api}/scheduler/schedule/{arn}", timeout=10)
            assert detail.json()["task"]["action"] == "contract_probe"
            assert httpx.delete(f"{api}/scheduler/schedule/{arn}", timeout=10).status_code == 200
            assert aws.list_schedules(GroupName=GROUP)["Schedules"] == []
