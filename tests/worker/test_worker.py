"""The worker through its real Lambda entry point: lambda_handler -> Mangum -> FastAPI."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from lambda_worker.actions import action, current_attempt, known_actions
from lambda_worker.actions import registry as action_registry
from lambda_worker.handler import TaskFailedError, UnsupportedEventError, lambda_handler
from lambda_worker.schemas import TaskCallbackRequest
from task_contract import ProxyEvent, build_proxy_event, substitute_context_attributes
from tests.support.lambda_context import LAMBDA_CONTEXT, FakeLambdaContext

SCHEDULE_ARN = "arn:aws:scheduler:us-east-1:123456789012:schedule/tasks/task-1"


def scheduled_event(body: dict[str, Any], attempt: int = 1) -> ProxyEvent:
    """A payload as the scheduler builds it, after EventBridge's substitution and JSON."""
    text = json.dumps(build_proxy_event("api/v1/tasks/callback", "POST", body))
    text = substitute_context_attributes(
        text,
        schedule_arn=SCHEDULE_ARN,
        scheduled_time="2030-01-01T09:00:00Z",
        execution_id="exec-0001",
        attempt=attempt,
    )
    loaded: ProxyEvent = json.loads(text)
    return loaded


def task(action_name: str = "send_notification", **data: Any) -> dict[str, Any]:
    return {"task_id": "task-1", "user_id": 7, "action": action_name, "data": data}


@pytest.fixture
def temporary_actions() -> Iterator[list[str]]:
    """Actions a test registers are removed afterwards."""
    added: list[str] = []
    yield added
    for name in added:
        action_registry._actions.pop(name, None)


CONTEXT = FakeLambdaContext(aws_request_id="lambda-req-42", function_name="scheduled-tasks")


def test_builtin_action_runs_and_returns_its_result() -> None:
    response = lambda_handler(scheduled_event(task(channel="sms")), CONTEXT)
    assert response["statusCode"] == 200
    body = json.loads(response["body"])
    assert body == {
        "success": True,
        "message": "Task task-1 processed successfully",
        "task_id": "task-1",
        "result": {"notified_user": 7, "channel": "sms"},
    }


@pytest.mark.parametrize(
    "name", ["send_notification", "process_payment", "cleanup", "generate_daily_report"]
)
def test_every_builtin_action_is_registered_and_succeeds(name: str) -> None:
    assert name in known_actions()
    assert lambda_handler(scheduled_event(task(name)), LAMBDA_CONTEXT)["statusCode"] == 200


def test_the_seeds_own_local_test_event_passes() -> None:
    event: ProxyEvent = {
        "body": json.dumps(
            {
                "task_id": "test-123",
                "user_id": 456,
                "action": "send_notification",
                "data": {"message": "Hello"},
            }
        ),
        "resource": "/{proxy+}",
        "path": "/api/v1/tasks/callback",
        "httpMethod": "POST",
        "isBase64Encoded": False,
        "pathParameters": {"proxy": "api/v1/tasks/callback"},
        "queryStringParameters": {},
        "headers": {"Content-Type": "application/json"},
        "requestContext": {"path": "/api/v1/tasks/callback", "httpMethod": "POST"},
    }
    response = lambda_handler(event, LAMBDA_CONTEXT)
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["task_id"] == "test-123"


def test_unknown_action_is_a_422_naming_the_known_ones() -> None:
    response = lambda_handler(scheduled_event(task("send_notifcation")), LAMBDA_CONTEXT)
    assert response["statusCode"] == 422
    body = json.loads(response["body"])
    assert "send_notifcation" in body["detail"]
    assert body["known_actions"] == known_actions()
    assert "send_notification" in body["known_actions"]


def test_invalid_callback_body_is_a_4xx_not_retried() -> None:
    response = lambda_handler(
        scheduled_event({"task_id": "t", "action": "cleanup"}), LAMBDA_CONTEXT
    )
    assert response["statusCode"] == 422
    (error,) = json.loads(response["body"])["detail"]
    assert (error["loc"], error["type"]) == (["body", "user_id"], "missing")  # as FastAPI says


def test_a_callback_body_that_is_not_json_is_a_422() -> None:
    event = scheduled_event(task())
    event["body"] = "{not json"
    response = lambda_handler(event, LAMBDA_CONTEXT)
    assert response["statusCode"] == 422
    assert json.loads(response["body"])["detail"][0]["loc"][0] == "body"


def test_the_worker_imports_without_pydantic_v1_and_still_documents_its_body() -> None:
    """FastAPI imports pydantic.v1 (18 ms of a cold start, benchmark 3) for any route with
    a model parameter or response model; the worker's routes declare none."""
    script = (
        "import json, sys; import lambda_worker.handler as h;"
        " print(json.dumps(['pydantic.v1' in sys.modules, h.app.openapi()]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    imported, openapi = json.loads(result.stdout)
    assert imported is False
    post = openapi["paths"]["/api/v1/tasks/callback"]["post"]
    body = post["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["task_id", "user_id", "action"]
    done = post["responses"]["200"]["content"]["application/json"]["schema"]
    assert set(done["properties"]) == {"success", "message", "task_id", "result"}


def test_failing_action_raises_so_lambda_retries(temporary_actions: list[str]) -> None:
    @action("always_fails")
    def always_fails(task: TaskCallbackRequest) -> None:
        raise ConnectionError("db password=hunter2 refused")

    temporary_actions.append("always_fails")
    with pytest.raises(TaskFailedError) as caught:
        lambda_handler(scheduled_event(task("always_fails")), LAMBDA_CONTEXT)
    assert caught.value.status_code == 500
    assert "hunter2" not in caught.value.body  # no raw exception text in the response
    assert json.loads(caught.value.body) == {
        "detail": "Task processing failed",
        "task_id": "task-1",
        "error": "ConnectionError",  # the class, never the message
    }
    assert caught.value.error_type == "ConnectionError"


def test_user_actions_sync_and_async_register_with_the_decorator(
    temporary_actions: list[str],
) -> None:
    seen: list[tuple[str, int]] = []

    @action("remember_sync")
    def remember_sync(task: TaskCallbackRequest) -> dict[str, Any]:
        seen.append(("sync", task.user_id))
        return {"ok": True}

    @action("remember_async")
    async def remember_async(task: TaskCallbackRequest) -> dict[str, Any]:
        seen.append(("async", task.user_id))
        return {"ok": True}

    temporary_actions.extend(["remember_sync", "remember_async"])
    for name in ("remember_sync", "remember_async"):
        response = lambda_handler(scheduled_event(task(name)), LAMBDA_CONTEXT)
        assert response["statusCode"] == 200
    assert seen == [("sync", 7), ("async", 7)]


def test_a_callable_object_returning_a_coroutine_is_awaited(
    temporary_actions: list[str],
) -> None:
    ran: list[str] = []

    class Notifier:
        async def __call__(self, task: TaskCallbackRequest) -> dict[str, Any]:
            ran.append(task.task_id)
            return {"notified": True}

    action("callable_object")(Notifier())
    temporary_actions.append("callable_object")
    response = lambda_handler(scheduled_event(task("callable_object")), LAMBDA_CONTEXT)
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["result"] == {"notified": True}
    assert ran == ["task-1"]


def test_an_action_name_cannot_be_taken_twice(temporary_actions: list[str]) -> None:
    with pytest.raises(ValueError, match="already registered"):

        @action("send_notification")
        def impostor(task: TaskCallbackRequest) -> None:
            return None


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"version": "0", "source": "aws.scheduler", "detail-type": "Scheduled Event", "detail": {}},
        {"task_id": "t", "user_id": 1, "action": "cleanup"},
        [],
    ],
)
def test_an_event_that_is_not_a_proxy_event_gets_a_clear_error(event: Any) -> None:
    with pytest.raises(UnsupportedEventError, match="API Gateway REST proxy event"):
        lambda_handler(event, LAMBDA_CONTEXT)


def test_logs_are_json_with_task_and_invocation_fields(capsys: pytest.CaptureFixture[str]) -> None:
    lambda_handler(scheduled_event(task(), attempt=2), CONTEXT)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    done = next(line for line in lines if line["message"] == "task done")
    assert done["task_id"] == "task-1"
    assert done["action"] == "send_notification"
    assert done["user_id"] == 7
    assert done["schedule_arn"] == SCHEDULE_ARN
    assert done["scheduled_time"] == "2030-01-01T09:00:00Z"
    assert done["execution_id"] == "exec-0001"
    assert done["attempt"] == 2
    assert done["lambda_request_id"] == "lambda-req-42"
    assert "labels" not in done  # none given


def test_a_tasks_labels_are_in_its_log_lines(capsys: pytest.CaptureFixture[str]) -> None:
    lambda_handler(scheduled_event({**task(), "labels": {"customer": "c-42"}}), CONTEXT)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    done = next(line for line in lines if line["message"] == "task done")
    assert done["labels"] == {"customer": "c-42"}


def test_health_through_the_handler() -> None:
    event = build_proxy_event("/health", "GET")
    response = lambda_handler(event, LAMBDA_CONTEXT)
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["status"] == "ok"


def test_flaky_fails_the_tries_it_is_told_to_then_succeeds() -> None:
    body = task("flaky", fail_attempts=2)
    for attempt in (1, 2):
        with pytest.raises(TaskFailedError, match="FlakyActionError"):
            lambda_handler(scheduled_event(body, attempt=attempt), LAMBDA_CONTEXT)
    response = lambda_handler(scheduled_event(body, attempt=3), LAMBDA_CONTEXT)
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["result"] == {"attempt": 3, "failed_attempts": 2}


@pytest.mark.parametrize("fail_attempts", [-1, "2", True, 1.5])
def test_flaky_with_a_value_that_is_no_count_fails_every_try(fail_attempts: object) -> None:
    body = task("flaky", fail_attempts=fail_attempts)
    with pytest.raises(TaskFailedError, match="FlakyActionError"):
        lambda_handler(scheduled_event(body, attempt=5), LAMBDA_CONTEXT)


def test_an_action_reads_its_try_and_outside_one_it_is_the_first(
    temporary_actions: list[str],
) -> None:
    seen: list[int] = []

    @action("attempt_probe")
    def attempt_probe(_task: TaskCallbackRequest) -> None:
        seen.append(current_attempt())

    temporary_actions.append("attempt_probe")
    lambda_handler(scheduled_event(task("attempt_probe"), attempt=4), LAMBDA_CONTEXT)
    assert seen == [4]
    assert current_attempt() == 1


async def _nothing() -> None:
    return None


def test_an_invocation_after_asyncio_run_in_the_same_thread_still_runs() -> None:
    """asyncio.run() leaves its thread with no event loop set, and Mangum asks for one:
    every later invocation in that warm container raised RuntimeError before the fix."""
    asyncio.run(_nothing())
    assert lambda_handler(scheduled_event(task()), LAMBDA_CONTEXT)["statusCode"] == 200
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    loop.close()  # a closed loop left current is replaced too
    assert lambda_handler(scheduled_event(task()), LAMBDA_CONTEXT)["statusCode"] == 200


def test_an_invocation_from_a_thread_with_no_loop_runs() -> None:
    with ThreadPoolExecutor(1) as pool:  # no initializer: the thread has no event loop
        response = pool.submit(lambda_handler, scheduled_event(task()), LAMBDA_CONTEXT).result()
    assert response["statusCode"] == 200
