"""Who gets in, what is too big, and signed callbacks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
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
from scheduler_api.config import Settings
from scheduler_api.domain.errors import PayloadTooLargeError
from scheduler_api.main import create_app
from task_contract import ProxyEvent, substitute_context_attributes
from tests.conftest import AUTH, GROUP, FakeClock, LocalApp, create_table, make_settings, task_body
from tests.support.aws_faults import SendRecorder, hook
from tests.support.lambda_context import LAMBDA_CONTEXT

if TYPE_CHECKING:
    from mypy_boto3_scheduler import EventBridgeSchedulerClient

SECRET = "callback-secret-for-tests"


def app_client(
    scheduler_client: EventBridgeSchedulerClient,
    clock: FakeClock,
    *,
    client: tuple[str, int] = ("203.0.113.7", 4000),
    base_url: str = "http://testserver",
    **overrides: Any,
) -> TestClient:
    app = create_app(make_settings(**overrides), scheduler_client=scheduler_client, clock=clock)
    return TestClient(app, client=client, base_url=base_url)


def test_scheduler_routes_need_a_bearer_token(
    scheduler_client: EventBridgeSchedulerClient, clock: FakeClock
) -> None:
    with app_client(scheduler_client, clock) as client:
        for method, path in [
            ("post", "/scheduler/schedule"),
            ("get", "/scheduler/schedules"),
            ("get", "/scheduler/preview?expression=rate(1%20hour)"),
            ("get", "/scheduler/tasks/t/runs"),
            (
                "delete",
                f"/scheduler/schedule/arn:aws:scheduler:us-east-1:123456789012:schedule/{GROUP}/x",
            ),
        ]:
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}):
                response = client.request(method, path, headers=headers, json=task_body())
                assert response.status_code == 401, (method, path, headers)
                assert response.headers["WWW-Authenticate"] == "Bearer"
                assert response.json()["request_id"]
        assert client.get("/health").status_code == 200
        assert client.get("/docs").status_code == 200
        assert client.get("/openapi.json").status_code == 200
        assert client.get("/scheduler/schedules", headers=AUTH).status_code == 200
    assert scheduler_client.list_schedules(GroupName=GROUP)["Schedules"] == []


def test_several_tokens_allow_rotation(
    scheduler_client: EventBridgeSchedulerClient, clock: FakeClock
) -> None:
    tokens = "old-token-0123456789, new-token-0123456789"
    with app_client(scheduler_client, clock, api_tokens=tokens) as client:
        for token in ("old-token-0123456789", "new-token-0123456789"):
            headers = {"Authorization": f"Bearer {token}"}
            assert client.get("/scheduler/schedules", headers=headers).status_code == 200
        assert (
            client.get("/scheduler/schedules", headers={"Authorization": "Bearer old"}).status_code
            == 401
        )


def test_without_tokens_only_loopback_is_answered(
    scheduler_client: EventBridgeSchedulerClient,
    clock: FakeClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with app_client(scheduler_client, clock, api_tokens=None) as remote:
        assert remote.get("/scheduler/schedules").status_code == 403
        assert remote.get("/health").status_code == 200
    assert "SCHEDULER_API_TOKENS is not set" in capsys.readouterr().err
    for host in ("127.0.0.1", "::1"):
        for url in ("http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000"):
            with app_client(
                scheduler_client, clock, api_tokens=None, client=(host, 1), base_url=url
            ) as local:
                assert local.get("/scheduler/schedules").status_code == 200


@pytest.mark.parametrize("path", ["/scheduler/schedules", "/dashboard", "/metrics"])
def test_without_tokens_a_rebound_name_is_refused(
    scheduler_client: EventBridgeSchedulerClient, clock: FakeClock, path: str
) -> None:
    """DNS rebinding: a hostile name that resolves to 127.0.0.1 makes the user's browser a
    loopback client whose Origin matches its Host; its Host is no loopback name. PUBLIC_URL
    names the one other host that is accepted."""
    with app_client(
        scheduler_client, clock, api_tokens=None, client=("127.0.0.1", 1),
        base_url="http://rebind.attacker.example:8000",
        public_url="https://scheduler.internal.example",
    ) as rebound:  # fmt: skip
        refused = rebound.get(path)
        assert refused.status_code == 403
        assert "localhost" in refused.json()["detail"]
        assert refused.json()["request_id"]
        named = rebound.get(path, headers={"Host": "scheduler.internal.example"})
        assert named.status_code == 200


def test_bodies_over_64_kb_are_413(client: TestClient) -> None:
    big = {**task_body(), "data": {"blob": "x" * 70_000}}
    response = client.post("/scheduler/schedule", json=big)
    assert response.status_code == 413
    assert response.json()["request_id"] == response.headers["X-Request-ID"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
        yield b'{"task_id": "t", "user_id": 1, "action": "a", "data": {"blob": "'
        for _ in range(70):
            yield b"y" * 1024
        yield b'"}, "delay_minutes": 5}'

    streamed = client.post(
        "/scheduler/schedule", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert streamed.status_code == 413


def test_data_nested_deeper_than_32_levels_is_422(client: TestClient) -> None:
    def nested(levels: int) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for _ in range(levels - 1):
            data = {"k": data}
        return data

    ok = client.post("/scheduler/schedule", json={**task_body(), "data": nested(32)})
    assert ok.status_code == 200
    response = client.post("/scheduler/schedule", json={**task_body("deep"), "data": nested(33)})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "data"]


def test_an_input_over_256_kb_is_refused_before_any_aws_call(
    client: TestClient, scheduler_client: EventBridgeSchedulerClient
) -> None:
    # The 64 KB body cap keeps HTTP requests below this; direct callers of AwsService
    # (the seed's usage) can still build a bigger Input.
    recorder = hook(scheduler_client.meta.events, "before-send.scheduler", SendRecorder())
    service = client.app.state.runtime.service  # type: ignore[attr-defined]
    body = {"task_id": "huge", "user_id": 1, "action": "cleanup", "data": {"q": "é" * 60_000}}
    with pytest.raises(PayloadTooLargeError, match="at most 262144"):
        service.schedule_lambda_proxy_task(
            callback_path="/api/v1/tasks/callback", callback_body=body, delay_minutes=5
        )
    assert recorder.operations == []


def signed_event(
    scheduler_client: EventBridgeSchedulerClient, clock: FakeClock, body: dict[str, Any]
) -> ProxyEvent:
    with TestClient(
        create_app(
            make_settings(callback_secret=SECRET), scheduler_client=scheduler_client, clock=clock
        ),
        headers=AUTH,
    ) as client:
        assert client.post("/scheduler/schedule", json=body).status_code == 200
    stored = scheduler_client.get_schedule(GroupName=GROUP, Name=body["task_id"])
    text = substitute_context_attributes(
        stored["Target"]["Input"],
        schedule_arn=stored["Arn"],
        scheduled_time="2030-01-01T00:31:00Z",
        execution_id="e-1",
        attempt=1,
    )
    event: ProxyEvent = json.loads(text)
    return event


@pytest.fixture
def signing_worker(clock: FakeClock) -> Iterator[list[str]]:
    """The worker with the secret, on the test's clock (it bounds a signed delivery's
    times by its own clock)."""
    calls: list[str] = []

    @action("signed_probe")
    def probe(task: TaskCallbackRequest) -> None:
        calls.append(task.task_id)

    worker_app.dependency_overrides[get_worker] = lambda: Worker(
        WorkerConfig(callback_secret=SECRET), None, clock=lambda: clock().timestamp()
    )
    yield calls
    worker_app.dependency_overrides.clear()
    action_registry._actions.pop("signed_probe", None)


def test_signed_callbacks_run_and_others_are_401(
    scheduler_client: EventBridgeSchedulerClient, clock: FakeClock, signing_worker: list[str]
) -> None:
    body = {**task_body("signed-1"), "action": "signed_probe"}
    event = signed_event(scheduler_client, clock, body)
    assert event["headers"]["X-Scheduler-Signature"].startswith("t=")
    clock.advance(timedelta(minutes=30, seconds=30))  # its time, 00:31:00
    assert lambda_handler(event, LAMBDA_CONTEXT)["statusCode"] == 200
    assert signing_worker == ["signed-1"]

    tampered: ProxyEvent = {**event, "body": (event.get("body") or "").replace("456", "457")}
    unsigned = json.loads(json.dumps(event))
    del unsigned["headers"]["X-Scheduler-Signature"]
    del unsigned["multiValueHeaders"]["X-Scheduler-Signature"]
    for bad in (tampered, unsigned):
        response = lambda_handler(bad, LAMBDA_CONTEXT)
        assert response["statusCode"] == 401  # returned, not raised: never retried
    assert signing_worker == ["signed-1"]


def test_runs_in_aws_mode_come_from_the_ledger(
    scheduler_client: EventBridgeSchedulerClient, clock: FakeClock
) -> None:
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    create_table(dynamodb, "task-ledger")
    ledger = Ledger(
        DynamoDBLedgerStore("task-ledger", dynamodb), in_progress_timeout=900, ttl_seconds=60
    )
    claim = ledger.claim(
        "daily", "2030-01-01T09:00:00Z", attempt=1, execution_id="e-9", schedule_arn="arn:s"
    )
    ledger.succeed(claim.record, {"ok": True})
    app = create_app(
        make_settings(ledger_table="task-ledger"), scheduler_client=scheduler_client, clock=clock
    )
    with TestClient(app, headers=AUTH) as client:
        (run,) = client.get("/scheduler/tasks/daily/runs").json()["runs"]
        assert client.get("/scheduler/dead-letters").status_code == 501
    assert run["status"] == "SUCCEEDED"
    assert run["execution_id"] == "e-9"
    assert run["scheduled_time"] == "2030-01-01T09:00:00Z"
    assert run["status_code"] == 200


def test_runs_in_aws_mode_without_a_ledger_is_501(client: TestClient) -> None:
    response = client.get("/scheduler/tasks/daily/runs")
    assert response.status_code == 501
    assert "LEDGER_TABLE" in response.json()["detail"]


@pytest.mark.parametrize(
    ("forged", "logged"),
    [
        ("abc%0AFORGED 200 OK", "abc\\nFORGED 200 OK"),
        ("abc%0D%0AFORGED", "abc\\r\\nFORGED"),
        ("abc%00x", "abc\\u0000x"),
        ("a%E2%80%A8b", "a\\u2028b"),
    ],
)
def test_request_values_cannot_forge_or_break_log_lines(
    local_app: LocalApp, capsys: pytest.CaptureFixture[str], forged: str, logged: str
) -> None:
    response = local_app.client.get(f"/scheduler/tasks/{forged}/runs")
    assert response.status_code == 422
    err = capsys.readouterr().err
    access = [line for line in err.splitlines() if "scheduler_api.access" in line]
    assert len(access) == 1  # one request, one line
    assert not any(line.startswith("FORGED") for line in err.splitlines())
    assert "\x00" not in err
    assert "\u2028" not in err
    assert f"/scheduler/tasks/{logged}/runs 422" in access[0]


def test_an_unexpected_error_keeps_the_error_contract(
    settings: Settings,
    scheduler_client: EventBridgeSchedulerClient,
    clock: FakeClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = create_app(settings, scheduler_client=scheduler_client, clock=clock)

    @app.get("/boom")
    async def boom() -> None:
        raise ZeroDivisionError("internal detail 42")

    with TestClient(app) as test_client:
        response = test_client.get("/boom", headers={"X-Request-ID": "caller-id-0001"})
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error", "request_id": "caller-id-0001"}
    assert response.headers["X-Request-ID"] == "caller-id-0001"
    err = capsys.readouterr().err
    error_line = next(line for line in err.splitlines() if "unhandled error" in line)
    assert "request_id=caller-id-0001" in error_line
    assert "ZeroDivisionError: internal detail 42" in err  # in the log, not the response


@pytest.mark.parametrize("depth", [100, 5000])
def test_json_nested_past_the_limit_is_422_naming_it(client: TestClient, depth: int) -> None:
    envelope = json.dumps({**task_body(), "data": "HERE"})
    body = envelope.replace('"HERE"', '{"d":' * (depth - 1) + "{}" + "}" * (depth - 1))
    assert len(body) < 64 * 1024
    response = client.post(
        "/scheduler/schedule", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body"]
    assert "64 levels" in error["msg"]
    assert "32" in error["msg"]
    assert response.json()["request_id"] == response.headers["X-Request-ID"]


def test_brackets_inside_strings_are_not_nesting(client: TestClient) -> None:
    data = {"text": "[" * 500 + '{"\\"' * 100}
    response = client.post("/scheduler/schedule", json={**task_body(), "data": data})
    assert response.status_code == 200, response.text
