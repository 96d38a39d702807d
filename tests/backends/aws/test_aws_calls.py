"""How the API talks to AWS: one call per POST, retries, errors, and no blocked event loop."""

from __future__ import annotations

import io
import threading
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import boto3
import pytest
from fastapi.testclient import TestClient

from scheduler_api.main import create_app
from tests.conftest import AUTH, REGION, FakeClock, make_settings, task_body
from tests.support.aws_faults import SendRecorder, aws_error, aws_ok, hook

if TYPE_CHECKING:
    from mypy_boto3_scheduler import EventBridgeSchedulerClient


def recorder_on(scheduler_client: EventBridgeSchedulerClient, recorder: SendRecorder) -> None:
    hook(scheduler_client.meta.events, "before-send.scheduler", recorder)


def test_a_post_makes_exactly_one_aws_call(
    client: TestClient, scheduler_client: EventBridgeSchedulerClient
) -> None:
    recorder = SendRecorder()
    recorder_on(scheduler_client, recorder)
    for n in range(3):
        assert client.post("/scheduler/schedule", json=task_body(f"t-{n}")).status_code == 200
    assert recorder.operations == ["CreateSchedule"] * 3


def test_a_function_name_is_resolved_once_at_start_up(
    scheduler_client: EventBridgeSchedulerClient, clock: FakeClock
) -> None:
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName="worker", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lambda_client = boto3.client("lambda", region_name=REGION)
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context): return None\n")
    function_arn = lambda_client.create_function(
        FunctionName="scheduled-tasks",
        Runtime="python3.12",
        Role=role,
        Handler="handler.handler",
        Code={"ZipFile": code.getvalue()},
    )["FunctionArn"]
    lambda_recorder = SendRecorder()
    hook(lambda_client.meta.events, "before-send.lambda", lambda_recorder)
    settings = make_settings(lambda_arn=None, lambda_function_name="scheduled-tasks")
    app = create_app(
        settings, scheduler_client=scheduler_client, lambda_client=lambda_client, clock=clock
    )
    with TestClient(app, headers=AUTH) as client:
        for n in range(3):
            response = client.post("/scheduler/schedule", json=task_body(f"t-{n}"))
            assert response.status_code == 200
        stored = scheduler_client.get_schedule(GroupName="tasks", Name="t-0")
    assert stored["Target"]["Arn"] == function_arn
    assert lambda_recorder.operations == ["GetFunction"]


@pytest.fixture
def offline_app(clock: FakeClock) -> Iterator[tuple[TestClient, SendRecorder]]:
    """The app with its own boto3 client (standard retries, 2 attempts) pointed at a
    closed port; every AWS answer comes from the recorder, none from moto."""
    with socket_bound_then_closed() as port:
        settings = make_settings(aws_endpoint_url=f"http://127.0.0.1:{port}", aws_max_attempts=2)
    app = create_app(settings, clock=clock)
    recorder = SendRecorder()
    with TestClient(app, headers=AUTH) as client:
        recorder_on(app.state.runtime.service.backend._client, recorder)
        yield client, recorder


CREATED = {"ScheduleArn": "arn:aws:scheduler:us-east-1:123456789012:schedule/tasks/task-123"}


def test_an_unknown_function_name_stops_start_up_with_a_clear_message(
    scheduler_client: EventBridgeSchedulerClient, clock: FakeClock
) -> None:
    settings = make_settings(lambda_arn=None, lambda_function_name="no-such-function")
    lambda_client = boto3.client("lambda", region_name=REGION)
    app = create_app(
        settings, scheduler_client=scheduler_client, lambda_client=lambda_client, clock=clock
    )
    expected = "'no-such-function' \\(ResourceNotFoundException\\)"
    with pytest.raises(RuntimeError, match=expected), TestClient(app):
        pass


def test_throttling_is_retried_by_botocore(offline_app: tuple[TestClient, SendRecorder]) -> None:
    client, recorder = offline_app
    recorder.responses = [aws_error(429, "ThrottlingException", "Rate exceeded"), aws_ok(CREATED)]
    response = client.post("/scheduler/schedule", json=task_body())
    assert response.status_code == 200
    assert response.json()["schedule_arn"] == CREATED["ScheduleArn"]
    assert recorder.operations == ["CreateSchedule", "CreateSchedule"]


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (429, "ThrottlingException"),
        (500, "InternalServerException"),
        (503, "ServiceUnavailable"),
    ],
)
def test_throttling_or_unavailability_is_503_with_retry_after(
    offline_app: tuple[TestClient, SendRecorder],
    capsys: pytest.CaptureFixture[str],
    status: int,
    code: str,
) -> None:
    client, recorder = offline_app
    recorder.responses = [aws_error(status, code, "secret internal detail")] * 2
    response = client.post("/scheduler/schedule", json=task_body())
    assert response.status_code == 503
    assert recorder.operations == ["CreateSchedule", "CreateSchedule"]  # retried, then gave up
    assert response.headers["Retry-After"].isdigit()
    assert "secret internal detail" not in response.text
    request_id = response.json()["request_id"]
    assert response.headers["X-Request-ID"] == request_id
    log = capsys.readouterr().err
    assert f"request_id={request_id}" in log
    assert code in log  # the cause is in the log, not in the response


def test_other_aws_failures_are_502_without_the_aws_message(
    offline_app: tuple[TestClient, SendRecorder],
) -> None:
    client, recorder = offline_app
    message = "User: arn:aws:iam::123456789012:user/x is not authorized"
    recorder.responses = [aws_error(403, "AccessDeniedException", message)]
    response = client.post("/scheduler/schedule", json=task_body())
    assert response.status_code == 502
    assert recorder.operations == ["CreateSchedule"]  # not retried
    assert "not authorized" not in response.text
    assert "AccessDeniedException" in response.json()["detail"]


def test_unreachable_endpoint_is_503(clock: FakeClock) -> None:
    with socket_bound_then_closed() as port:
        settings = make_settings(aws_endpoint_url=f"http://127.0.0.1:{port}", aws_max_attempts=1)
    app = create_app(settings, clock=clock)
    with TestClient(app, headers=AUTH) as client:
        response = client.post("/scheduler/schedule", json=task_body())
        assert response.status_code == 503
        assert (
            client.delete(
                "/scheduler/schedule/arn:aws:scheduler:us-east-1:123456789012:schedule/tasks/x"
            ).status_code
            == 503
        )


def test_concurrent_posts_do_not_block_the_event_loop(
    client: TestClient, scheduler_client: EventBridgeSchedulerClient
) -> None:
    """Four requests must be inside boto3 at the same time to pass the barrier: an
    `async def` route calling boto3 would hold the event loop and break it."""
    barrier = threading.Barrier(4, timeout=10)
    recorder = SendRecorder()
    recorder.before_answer = barrier.wait
    recorder_on(scheduler_client, recorder)
    with ThreadPoolExecutor(4) as pool:
        responses = list(
            pool.map(
                lambda n: client.post("/scheduler/schedule", json=task_body(f"t-{n}")), range(4)
            )
        )
    assert [r.status_code for r in responses] == [200] * 4


class socket_bound_then_closed:  # noqa: N801 - used as a context manager
    """A loopback port nobody listens on once the block ends."""

    def __enter__(self) -> int:
        import socket

        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        port: int = self._sock.getsockname()[1]
        return port

    def __exit__(self, *_: object) -> None:
        self._sock.close()
