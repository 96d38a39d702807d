"""Cancel, get, list and preview: only ever this service's group, region and account."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from tests.conftest import GROUP, LAMBDA_ARN, ROLE_ARN, task_body

if TYPE_CHECKING:
    from mypy_boto3_scheduler import EventBridgeSchedulerClient

OTHER_GROUP_ARN = "arn:aws:scheduler:us-east-1:123456789012:schedule/other-team/task-123"


def schedule(client: TestClient, task_id: str = "task-123", **timing: object) -> str:
    response = client.post("/scheduler/schedule", json=task_body(task_id, **timing))
    assert response.status_code == 200, response.text
    arn: str = response.json()["schedule_arn"]
    return arn


def make_foreign_schedule(scheduler_client: EventBridgeSchedulerClient) -> None:
    scheduler_client.create_schedule(
        Name="task-123",
        GroupName="other-team",
        ScheduleExpression="rate(1 hour)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": LAMBDA_ARN, "RoleArn": ROLE_ARN, "Input": "{}"},
    )


def test_cancel_deletes_then_404s(
    client: TestClient, scheduler_client: EventBridgeSchedulerClient
) -> None:
    arn = schedule(client)
    response = client.delete(f"/scheduler/schedule/{arn}")
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "message": "Schedule cancelled successfully",
        "schedule_arn": arn,
    }
    assert scheduler_client.list_schedules(GroupName=GROUP)["Schedules"] == []
    again = client.delete(f"/scheduler/schedule/{arn}")
    assert again.status_code == 404
    assert again.json()["detail"] == "Schedule not found"


def test_cancel_accepts_a_url_encoded_arn(client: TestClient) -> None:
    arn = schedule(client)
    assert client.delete(f"/scheduler/schedule/{quote(arn, safe='')}").status_code == 200
    arn = schedule(client, "task-2")
    # Encoded twice, as some HTTP clients do.
    twice = quote(quote(arn, safe=""), safe="")
    assert client.delete(f"/scheduler/schedule/{twice}").status_code == 200


def test_another_groups_schedule_is_never_deleted(
    client: TestClient, scheduler_client: EventBridgeSchedulerClient
) -> None:
    make_foreign_schedule(scheduler_client)
    response = client.delete(f"/scheduler/schedule/{OTHER_GROUP_ARN}")
    assert response.status_code == 404
    assert scheduler_client.get_schedule(GroupName="other-team", Name="task-123")["Arn"] == (
        OTHER_GROUP_ARN
    )
    assert client.get(f"/scheduler/schedule/{OTHER_GROUP_ARN}").status_code == 404


@pytest.mark.parametrize(
    "arn",
    [
        f"arn:aws:scheduler:eu-west-1:123456789012:schedule/{GROUP}/task-123",
        f"arn:aws:scheduler:us-east-1:999999999999:schedule/{GROUP}/task-123",
    ],
)
def test_another_region_or_account_is_404_and_untouched(
    client: TestClient, scheduler_client: EventBridgeSchedulerClient, arn: str
) -> None:
    schedule(client)
    assert client.delete(f"/scheduler/schedule/{arn}").status_code == 404
    assert len(scheduler_client.list_schedules(GroupName=GROUP)["Schedules"]) == 1


@pytest.mark.parametrize("text", ["task-123", "arn:aws:lambda:us-east-1:123456789012:function:x"])
def test_not_a_schedule_arn_is_400(client: TestClient, text: str) -> None:
    response = client.delete(f"/scheduler/schedule/{text}")
    assert response.status_code == 400
    assert response.json()["request_id"]
    assert client.get(f"/scheduler/schedule/{text}").status_code == 400


def test_get_returns_the_decoded_task(client: TestClient) -> None:
    arn = schedule(client, "daily-report", cron="0 9 ? * MON-FRI *", timezone="Asia/Seoul")
    response = client.get(f"/scheduler/schedule/{arn}")
    assert response.status_code == 200
    body = response.json()
    assert body["schedule_arn"] == arn
    assert body["schedule_name"] == "daily-report"
    assert body["group_name"] == GROUP
    assert body["state"] == "ENABLED"
    assert body["schedule_expression"] == "cron(0 9 ? * MON-FRI *)"
    assert body["timezone"] == "Asia/Seoul"
    assert body["task"] == {
        "task_id": "daily-report",
        "user_id": 456,
        "action": "send_notification",
        "data": {"notification_type": "reminder", "message": "Your task is ready"},
        "labels": {},
        "overlap": "allow",
        "max_lateness_seconds": None,
    }
    # 2030-01-01 is a Tuesday; 09:00 Seoul is 00:00 UTC.
    assert body["next_run_times"][:3] == [
        "2030-01-02T00:00:00Z",
        "2030-01-03T00:00:00Z",
        "2030-01-04T00:00:00Z",
    ]


def test_get_missing_schedule_is_404(client: TestClient) -> None:
    missing = f"arn:aws:scheduler:us-east-1:123456789012:schedule/{GROUP}/nope"
    assert client.get(f"/scheduler/schedule/{missing}").status_code == 404


def test_get_a_foreign_schedule_in_our_group_has_no_task(
    client: TestClient, scheduler_client: EventBridgeSchedulerClient
) -> None:
    scheduler_client.create_schedule(
        Name="hand-made",
        GroupName=GROUP,
        ScheduleExpression="rate(1 hour)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": LAMBDA_ARN, "RoleArn": ROLE_ARN, "Input": "not json"},
    )
    arn = f"arn:aws:scheduler:us-east-1:123456789012:schedule/{GROUP}/hand-made"
    response = client.get(f"/scheduler/schedule/{arn}")
    assert response.status_code == 200
    assert response.json()["task"] is None


def test_list_pages_through_this_groups_schedules_only(
    client: TestClient, scheduler_client: EventBridgeSchedulerClient
) -> None:
    make_foreign_schedule(scheduler_client)
    arns = {schedule(client, f"task-{n}") for n in range(5)}
    seen: set[str] = set()
    token = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if token:
            params["next_token"] = token
        response = client.get("/scheduler/schedules", params=params)
        assert response.status_code == 200
        body = response.json()
        assert len(body["schedules"]) <= 2
        seen |= {item["schedule_arn"] for item in body["schedules"]}
        assert all(item["group_name"] == GROUP for item in body["schedules"])
        pages += 1
        token = body["next_token"]
        if not token:
            break
    assert seen == arns
    assert pages == 3


def test_a_bad_next_token_is_422_not_an_aws_error(client: TestClient) -> None:
    response = client.get("/scheduler/schedules", params={"next_token": "not-a-token"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "next_token"]


def test_list_limit_is_validated(client: TestClient) -> None:
    assert client.get("/scheduler/schedules", params={"limit": 0}).status_code == 422
    assert client.get("/scheduler/schedules", params={"limit": 1001}).status_code == 422
    assert client.get("/scheduler/schedules", params={"limit": 1000}).status_code == 200


def test_preview_cron(client: TestClient) -> None:
    response = client.get(
        "/scheduler/preview",
        params={
            "expression": "cron(0 9 ? * 2#1 *)",
            "after": "2030-01-01T00:00:00Z",
            "count": 3,
        },
    )
    assert response.status_code == 200
    assert response.json()["next_run_times"] == [
        "2030-01-07T09:00:00Z",
        "2030-02-04T09:00:00Z",
        "2030-03-04T09:00:00Z",
    ]


def test_preview_defaults_to_now_and_reads_naive_after_in_the_timezone(client: TestClient) -> None:
    rate = client.get("/scheduler/preview", params={"expression": "rate(1 hour)", "count": 2})
    # As a schedule created now: a rate() fires at once (AWS starts it at creation).
    assert rate.json()["next_run_times"] == ["2030-01-01T00:00:30Z", "2030-01-01T01:00:30Z"]
    at = client.get(
        "/scheduler/preview",
        params={
            "expression": "at(2030-01-01T09:00:00)",
            "timezone": "Asia/Seoul",
            "after": "2030-01-01T08:00:00",
        },
    )
    assert at.json()["next_run_times"] == ["2030-01-01T00:00:00Z"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"expression": "cron(0 9 * * ? )"}, "expression"),
        ({"expression": "0 9 * * ? *"}, "expression"),
        ({"expression": "rate(1 fortnight)"}, "expression"),
        ({"expression": "cron(0 9 * * ? *)", "timezone": "Nowhere/City"}, "timezone"),
        ({"expression": "cron(0 9 * * ? *)", "count": 0}, "count"),
        ({"expression": "cron(0 9 * * ? *)", "after": "yesterday"}, "after"),
    ],
)
def test_preview_rejects_bad_input_naming_the_field(
    client: TestClient, params: dict[str, str | int], field: str
) -> None:
    response = client.get("/scheduler/preview", params=params)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", field]


def test_health(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok", "service": "scheduler-api"}


@pytest.mark.parametrize(
    "expression", ["cron(0 0 30 2 ? *)", "cron(0 0 1 1 ? 2020)", "at(2020-01-01T00:00:00)"]
)
def test_preview_of_an_expression_that_never_fires_is_422(
    client: TestClient, expression: str
) -> None:
    response = client.get("/scheduler/preview", params={"expression": expression})
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["query", "expression"]
    assert "never fires" in error["msg"]


def test_preview_and_post_give_the_same_reason_for_a_time_dst_skips(client: TestClient) -> None:
    zone = "America/New_York"  # 2027-03-14 02:00 jumps to 03:00
    preview = client.get(
        "/scheduler/preview",
        params={"expression": "at(2030-03-10T02:30:00)", "timezone": zone},
    )
    post = client.post(
        "/scheduler/schedule", json=task_body(run_at="2030-03-10T02:30:00", timezone=zone)
    )
    assert (preview.status_code, post.status_code) == (422, 422)
    preview_msg = preview.json()["detail"][0]["msg"]
    assert preview_msg == post.json()["detail"][0]["msg"]
    assert "DST" in preview_msg
