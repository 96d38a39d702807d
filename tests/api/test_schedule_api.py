"""POST /scheduler/schedule against moto: what CreateSchedule receives, and idempotency."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import DLQ_ARN, GROUP, LAMBDA_ARN, ROLE_ARN, task_body

if TYPE_CHECKING:
    from mypy_boto3_scheduler import EventBridgeSchedulerClient


def stored(scheduler_client: EventBridgeSchedulerClient, name: str) -> Any:
    return scheduler_client.get_schedule(GroupName=GROUP, Name=name)


def test_one_time_schedule(
    client: TestClient, scheduler_client: EventBridgeSchedulerClient
) -> None:
    response = client.post("/scheduler/schedule", json=task_body(delay_minutes=30))
    assert response.status_code == 200
    body = response.json()
    # Clock is 2030-01-01T00:00:30Z: +30 min rounds up to the next whole minute.
    assert body == {
        "success": True,
        "message": "Task scheduled successfully",
        "schedule_arn": f"arn:aws:scheduler:us-east-1:123456789012:schedule/{GROUP}/task-123",
        "task_id": "task-123",
        "scheduled_in_minutes": 30,
        "schedule_name": "task-123",
        "schedule_expression": "at(2030-01-01T00:31:00)",
        "timezone": "UTC",
        "next_run_times": ["2030-01-01T00:31:00Z"],
        "etag": response.headers["ETag"],
    }
    schedule = stored(scheduler_client, "task-123")
    assert schedule["ScheduleExpression"] == "at(2030-01-01T00:31:00)"
    assert schedule["ScheduleExpressionTimezone"] == "UTC"
    assert schedule["ActionAfterCompletion"] == "DELETE"
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert schedule["State"] == "ENABLED"
    target = schedule["Target"]
    assert target["Arn"] == LAMBDA_ARN
    assert target["RoleArn"] == ROLE_ARN
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 7200}
    assert target["DeadLetterConfig"] == {"Arn": DLQ_ARN}


def test_target_input_is_a_proxy_event_with_a_string_body(
    client: TestClient, scheduler_client: EventBridgeSchedulerClient
) -> None:
    client.post("/scheduler/schedule", json=task_body())
    event = json.loads(stored(scheduler_client, "task-123")["Target"]["Input"])
    assert isinstance(event["body"], str)
    assert json.loads(event["body"]) == {
        "task_id": "task-123",
        "user_id": 456,
        "action": "send_notification",
        "data": {"notification_type": "reminder", "message": "Your task is ready"},
    }
    assert event["resource"] == "/{proxy+}"
    assert event["path"] == "/api/v1/tasks/callback"
    assert event["httpMethod"] == "POST"
    assert "multiValueHeaders" in event
    assert "multiValueQueryStringParameters" in event
    context = event["requestContext"]
    for key in ("requestId", "stage", "httpMethod", "path", "resourcePath"):
        assert context[key]
    assert context["identity"]["sourceIp"]
    assert event["headers"]["X-Scheduler-Schedule-Arn"] == "<aws.scheduler.schedule-arn>"
    assert event["headers"]["X-Scheduler-Scheduled-Time"] == "<aws.scheduler.scheduled-time>"
    assert event["headers"]["X-Scheduler-Execution-Id"] == "<aws.scheduler.execution-id>"
    assert event["headers"]["X-Scheduler-Attempt"] == "<aws.scheduler.attempt-number>"
    assert event["multiValueHeaders"]["X-Scheduler-Attempt"] == ["<aws.scheduler.attempt-number>"]


def test_run_at_naive_is_read_in_the_timezone(
    client: TestClient, scheduler_client: EventBridgeSchedulerClient
) -> None:
    response = client.post(
        "/scheduler/schedule",
        json=task_body(run_at="2030-01-02T09:00:00", timezone="Asia/Seoul"),
    )
    assert response.status_code == 200
    assert response.json()["schedule_expression"] == "at(2030-01-02T09:00:00)"
    assert response.json()["next_run_times"] == ["2030-01-02T00:00:00Z"]
    schedule = stored(scheduler_client, "task-123")
    assert schedule["ScheduleExpressionTimezone"] == "Asia/Seoul"


def test_run_at_with_an_offset_is_converted_to_the_timezone(client: TestClient) -> None:
    response = client.post(
        "/scheduler/schedule",
        json=task_body(run_at="2030-01-02T09:00:00+00:00", timezone="Asia/Seoul"),
    )
    assert response.json()["schedule_expression"] == "at(2030-01-02T18:00:00)"
    assert response.json()["next_run_times"] == ["2030-01-02T09:00:00Z"]


def test_cron_schedule(client: TestClient, scheduler_client: EventBridgeSchedulerClient) -> None:
    response = client.post(
        "/scheduler/schedule",
        json=task_body("daily-report", cron="0 9 * * ? *", timezone="Asia/Seoul"),
    )
    assert response.status_code == 200
    body = response.json()
    assert body["schedule_expression"] == "cron(0 9 * * ? *)"
    assert body["scheduled_in_minutes"] is None
    assert body["next_run_times"][:2] == ["2030-01-02T00:00:00Z", "2030-01-03T00:00:00Z"]
    assert len(body["next_run_times"]) == 5
    schedule = stored(scheduler_client, "daily-report")
    assert schedule["ScheduleExpression"] == "cron(0 9 * * ? *)"
    assert schedule["ScheduleExpressionTimezone"] == "Asia/Seoul"
    assert schedule["ActionAfterCompletion"] == "NONE"


def test_rate_schedule_with_dates_and_flexible_window(
    client: TestClient, scheduler_client: EventBridgeSchedulerClient
) -> None:
    response = client.post(
        "/scheduler/schedule",
        json=task_body(
            "poll",
            rate="rate(6 hours)",
            start_date="2030-01-05T00:00:00Z",
            end_date="2030-01-05T13:00:00Z",
            flexible_window_minutes=15,
        ),
    )
    assert response.status_code == 200
    assert response.json()["next_run_times"] == [
        "2030-01-05T00:00:00Z",
        "2030-01-05T06:00:00Z",
        "2030-01-05T12:00:00Z",
    ]
    schedule = stored(scheduler_client, "poll")
    assert schedule["ScheduleExpression"] == "rate(6 hours)"
    assert schedule["FlexibleTimeWindow"] == {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15}
    assert schedule["StartDate"].isoformat() == "2030-01-05T00:00:00+00:00"
    assert schedule["EndDate"].isoformat() == "2030-01-05T13:00:00+00:00"


def test_same_request_twice_returns_the_same_schedule(
    client: TestClient, scheduler_client: EventBridgeSchedulerClient
) -> None:
    first = client.post("/scheduler/schedule", json=task_body())
    second = client.post("/scheduler/schedule", json=task_body())
    assert second.status_code == 200
    assert second.json()["schedule_arn"] == first.json()["schedule_arn"]
    assert second.json()["message"] == "Task already scheduled"
    assert second.json()["next_run_times"] == first.json()["next_run_times"]
    listed = scheduler_client.list_schedules(GroupName=GROUP)["Schedules"]
    assert len(listed) == 1


def test_same_task_id_with_another_request_is_a_409_naming_the_schedule(
    client: TestClient, scheduler_client: EventBridgeSchedulerClient
) -> None:
    first = client.post("/scheduler/schedule", json=task_body())
    other = task_body(delay_minutes=45)
    response = client.post("/scheduler/schedule", json=other)
    assert response.status_code == 409
    assert response.json()["existing_schedule_arn"] == first.json()["schedule_arn"]
    assert first.json()["schedule_arn"] in response.json()["detail"]
    assert response.json()["request_id"]
    # The first schedule is untouched.
    expression = stored(scheduler_client, "task-123")["ScheduleExpression"]
    assert expression == "at(2030-01-01T00:31:00)"


def test_task_ids_that_are_not_valid_names_are_hashed(client: TestClient) -> None:
    response = client.post("/scheduler/schedule", json=task_body("order:42:reminder"))
    assert response.status_code == 200
    name = response.json()["schedule_name"]
    assert name.startswith("order_42_reminder-")
    assert len(name) <= 64


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (task_body(delay_minutes=None), "body"),
        ({**task_body(), "cron": "0 9 * * ? *"}, "body"),
        (task_body(delay_minutes=0), "delay_minutes"),
        (task_body(delay_minutes=10081), "delay_minutes"),
        (task_body(cron="0 9 * * *"), "cron"),
        (task_body(cron="0 9 * * * *"), "cron"),
        (task_body(rate="5 weeks"), "rate"),
        ({**task_body(), "timezone": "Mars/Base"}, "timezone"),
        ({**task_body(), "flexible_window_minutes": 1441}, "flexible_window_minutes"),
        (task_body("bad id!"), "task_id"),
        (task_body("x" * 129), "task_id"),
        ({**task_body(), "user_id": "abc"}, "user_id"),
        ({**task_body(), "delay_minute": 5}, "delay_minute"),
        ({**task_body(), "start_date": "2030-02-01T00:00:00Z"}, "body"),
        (task_body(run_at="not a date"), "run_at"),
    ],
)
def test_invalid_requests_are_422_naming_the_field(
    client: TestClient,
    scheduler_client: EventBridgeSchedulerClient,
    body: dict[str, Any],
    field: str,
) -> None:
    response = client.post("/scheduler/schedule", json=body)
    assert response.status_code == 422
    payload = response.json()
    assert payload["request_id"]
    locations = [error["loc"] for error in payload["detail"]]
    assert any(location[-1] == field or field in location for location in locations), locations
    assert scheduler_client.list_schedules(GroupName=GROUP)["Schedules"] == []


@pytest.mark.parametrize(
    ("timing", "field"),
    [
        ({"run_at": "2029-12-31T23:59:00Z"}, "run_at"),
        ({"run_at": "2030-03-10T02:30:00", "timezone": "America/New_York"}, "run_at"),
        ({"cron": "0 9 * * ? *", "start_date": "2029-12-01T00:00:00Z"}, "start_date"),
        (
            {
                "cron": "0 9 * * ? *",
                "start_date": "2030-02-01T00:00:00Z",
                "end_date": "2030-01-15T00:00:00Z",
            },
            "end_date",
        ),
    ],
)
def test_times_that_cannot_fire_are_422_before_any_aws_call(
    client: TestClient,
    scheduler_client: EventBridgeSchedulerClient,
    timing: dict[str, Any],
    field: str,
) -> None:
    response = client.post("/scheduler/schedule", json=task_body(**timing))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", field]
    assert scheduler_client.list_schedules(GroupName=GROUP)["Schedules"] == []
