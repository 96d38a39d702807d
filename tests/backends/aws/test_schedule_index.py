"""The AWS schedule index (SCHEDULE_TABLE): what it holds, and how it heals after a failure
at each step of a write, a passed next fire, and a one-time schedule AWS deleted.

Faults are injected below botocore (before-send), so boto3 and moto run as they would;
"the process dies here" is an exception no handler in our code catches."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from scheduler_api.backends.aws.index.items import Stored
from scheduler_api.backends.aws.index.repair import RECHECK
from scheduler_api.backends.aws.index.writes import PENDING_GRACE
from scheduler_api.services.aws_service import AwsService
from scheduler_api.services.requests import ScheduleTaskRequest
from tests.conftest import GROUP, FakeClock, IndexedApi, indexed_aws_app, task_body


class Killed(BaseException):
    """The process dying at this point: nothing in the app handles it."""


@pytest.fixture
def aws(clock: FakeClock) -> Iterator[IndexedApi]:
    with indexed_aws_app(clock, aws_max_attempts=1) as api:
        yield api


def body(task_id: str, **timing: Any) -> dict[str, Any]:
    timing = timing or {"cron": "0 9 * * ? *"}
    return {**task_body(task_id, **timing), "labels": {"tier": "gold"}}


def post(api: IndexedApi, task_id: str, **timing: Any) -> Any:
    return api.client.post("/scheduler/schedule", json=body(task_id, **timing))


def listed(api: IndexedApi, **params: Any) -> list[dict[str, Any]]:
    response = api.client.get("/scheduler/schedules", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["schedules"]
    return items


def in_eventbridge(api: IndexedApi) -> set[str]:
    assert api.scheduler is not None
    return {s["Name"] for s in api.scheduler.list_schedules(GroupName=GROUP)["Schedules"]}


def items_of(api: IndexedApi, task_id: str) -> dict[str, dict[str, Any]]:
    """The table's items for one schedule, by sort key."""
    assert api.dynamodb is not None
    items = api.dynamodb.scan(TableName="schedules")["Items"]
    return {i["sk"]["S"]: i for i in items if i.get("task_id", {}).get("S") == task_id}


def entry(api: IndexedApi, name: str) -> Stored:
    stored: Stored | None = api.writes.stored(GROUP, name)
    assert stored is not None
    return stored


def service(api: IndexedApi) -> AwsService:
    scheduler: AwsService = api.client.app.state.runtime.service  # type: ignore[attr-defined]
    return scheduler


def request(task_id: str, **timing: Any) -> ScheduleTaskRequest:
    """What post() sends, for a call below the HTTP layer."""
    return ScheduleTaskRequest.model_validate(body(task_id, **timing))


def fail(client: Any, event: str, *, nth: int = 1, error: str | None = None) -> list[str]:
    """Make the nth call of `event` fail before it is sent: AWS answering `error` (an error
    code) once botocore's retries are spent, or the process dying (no error given).

    Raised, not answered: in-process moto acts on a request even when another before-send
    handler answers it."""
    calls: list[str] = []

    def handler(**_: Any) -> None:
        calls.append(event)
        if len(calls) != nth:
            return
        if error is None:
            raise Killed
        status = 500 if error.startswith("Internal") else 400
        response: Any = {
            "Error": {"Code": error, "Message": "injected"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }
        raise ClientError(response, event.rsplit(".", 1)[1])

    client.meta.events.register_first(f"before-send.{event}", handler)
    return calls


# What the table holds.


def test_one_item_per_view_follows_each_change(aws: IndexedApi) -> None:
    created = post(aws, "views").json()
    assert set(items_of(aws, "views")) == {"all", "user", "action", "label#tier"}
    arn = created["schedule_arn"]
    patched = aws.client.patch(f"/scheduler/schedule/{arn}", json={"labels": {"team": "a"}})
    assert patched.status_code == 200
    assert set(items_of(aws, "views")) == {"all", "user", "action", "label#team"}
    assert [i["task_id"] for i in listed(aws, label="team:a")] == ["views"]
    assert listed(aws, label="tier:gold") == []
    assert aws.client.delete(f"/scheduler/schedule/{arn}").status_code == 200
    assert items_of(aws, "views") == {}
    assert listed(aws) == []


def test_pause_and_resume_move_the_schedule_in_the_index(aws: IndexedApi) -> None:
    arn = post(aws, "paused").json()["schedule_arn"]
    aws.client.post(f"/scheduler/schedule/{arn}/pause")
    (item,) = listed(aws, state="DISABLED")
    assert item["next_fire_time"] is None
    aws.client.post(f"/scheduler/schedule/{arn}/resume")
    (item,) = listed(aws, state="ENABLED")
    assert item["next_fire_time"] == "2030-01-01T09:00:00Z"


# A failure at each step of a write.


def test_step_1_failing_fails_the_request_and_touches_nothing(aws: IndexedApi) -> None:
    assert aws.dynamodb is not None
    fail(aws.app_dynamodb, "dynamodb.TransactWriteItems", error="ThrottlingException")
    response = post(aws, "never")
    assert response.status_code == 503
    assert in_eventbridge(aws) == set()
    assert listed(aws) == []


def test_step_2_failing_heals_the_entry_at_once(aws: IndexedApi) -> None:
    assert aws.scheduler is not None
    fail(
        aws.app_scheduler,
        "scheduler.CreateSchedule",
        error="InternalServerException",
    )
    assert post(aws, "refused").status_code == 503
    assert items_of(aws, "refused") == {}  # no entry for what EventBridge does not hold

    arn = post(aws, "kept").json()["schedule_arn"]
    fail(
        aws.app_scheduler,
        "scheduler.UpdateSchedule",
        error="InternalServerException",
    )
    response = aws.client.patch(f"/scheduler/schedule/{arn}", json={"cron": "0 5 * * ? *"})
    assert response.status_code == 503
    (item,) = listed(aws)
    assert item["schedule_expression"] == "cron(0 9 * * ? *)"  # what EventBridge still has
    stored = entry(aws, item["schedule_name"])
    assert stored.pending_at is None


def test_dying_before_eventbridge_is_healed_by_a_read_after_the_grace(
    aws: IndexedApi, clock: FakeClock
) -> None:
    assert aws.scheduler is not None
    fail(aws.app_scheduler, "scheduler.CreateSchedule")
    with pytest.raises(Killed):
        service(aws).schedule_task(request("ghost"))
    assert in_eventbridge(aws) == set()
    (item,) = listed(aws)  # in flight as far as anyone can tell: shown as intended
    assert item["task_id"] == "ghost"
    clock.advance(PENDING_GRACE)
    assert listed(aws) == []  # its writer is gone: healed from EventBridge


def test_dying_after_eventbridge_is_healed_by_a_read_after_the_grace(
    aws: IndexedApi, clock: FakeClock
) -> None:
    arn = post(aws, "moved").json()["schedule_arn"]
    assert aws.dynamodb is not None
    fail(aws.app_dynamodb, "dynamodb.TransactWriteItems", nth=2)  # the confirm of the next write
    name = arn.rsplit("/", 1)[1]
    with pytest.raises(Killed):
        service(aws).set_state(arn, "DISABLED")
    stored = entry(aws, name)
    assert stored.pending_at is not None
    clock.advance(PENDING_GRACE)
    (item,) = listed(aws)
    assert item["state"] == "DISABLED"
    stored = entry(aws, name)
    assert stored.pending_at is None


def test_a_repeated_request_heals_at_once(aws: IndexedApi) -> None:
    fail(aws.app_scheduler, "scheduler.CreateSchedule")
    with pytest.raises(Killed):  # died before EventBridge
        service(aws).schedule_task(request("first"))
    assert post(aws, "first").json()["message"] == "Task scheduled successfully"
    fail(aws.app_dynamodb, "dynamodb.TransactWriteItems", nth=2)
    with pytest.raises(Killed):  # died after EventBridge
        service(aws).schedule_task(request("second"))
    assert post(aws, "second").json()["message"] == "Task already scheduled"  # reused
    for item in listed(aws):
        stored = entry(aws, item["schedule_name"])
        assert stored.pending_at is None
    assert {i["task_id"] for i in listed(aws)} == {"first", "second"}


def test_step_3_throttled_still_answers_and_a_read_heals(
    aws: IndexedApi, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    assert aws.dynamodb is not None
    fail(aws.app_dynamodb, "dynamodb.TransactWriteItems", nth=2, error="ThrottlingException")
    response = post(aws, "slow")
    assert response.status_code == 200  # EventBridge has it: the request did what it said
    assert "left pending; a later read heals it" in caplog.text
    clock.advance(PENDING_GRACE)
    (item,) = listed(aws)
    stored = entry(aws, item["schedule_name"])
    assert stored.pending_at is None


def test_a_change_between_intent_and_confirm_is_healed_not_overwritten(aws: IndexedApi) -> None:
    """Writer A intends; a PATCH meanwhile is refused (it would be computed from a version
    A is replacing); an unconditional writer B (as delete is) changes EventBridge and the
    table; A's confirm finds another rev and heals from EventBridge instead of writing its
    own values."""
    arn = post(aws, "raced").json()["schedule_arn"]
    name = arn.rsplit("/", 1)[1]
    writes = aws.writes
    current = entry(aws, name)
    assert current is not None
    stale = writes.intend(GROUP, name, lambda e: e)  # A
    refused = aws.client.patch(f"/scheduler/schedule/{arn}", json={"cron": "0 7 * * ? *"})
    assert refused.status_code == 503
    assert "kept changing" in refused.json()["detail"]
    schedule = aws.backend.get_schedule(GROUP, name)
    aws.backend.update_schedule(replace(schedule.spec, expression="cron(0 7 * * ? *)"))  # B
    writes.confirm(GROUP, name, stale)  # A, late
    stored = entry(aws, name)
    assert stored.entry.expression == "cron(0 7 * * ? *)"


# Reads keep it current.


def test_a_passed_next_fire_is_moved_on_when_read(aws: IndexedApi, clock: FakeClock) -> None:
    post(aws, "daily")  # 09:00 UTC every day
    post(aws, "later", cron="0 12 * * ? *")
    clock.advance(timedelta(hours=10))  # 10:00: daily's 09:00 has passed
    assert [(i["task_id"], i["next_fire_time"]) for i in listed(aws)] == [
        ("later", "2030-01-01T12:00:00Z"),
        ("daily", "2030-01-02T09:00:00Z"),
    ]
    window = listed(aws, next_before="2030-01-01T13:00:00Z")
    assert [i["task_id"] for i in window] == ["later"]


def test_a_one_time_schedule_aws_deleted_leaves_the_index(
    aws: IndexedApi, clock: FakeClock
) -> None:
    assert aws.scheduler is not None
    once = post(aws, "once", run_at="2030-01-01T01:00:00Z").json()["schedule_name"]
    retrying = post(aws, "retrying", run_at="2030-01-01T01:00:00Z").json()["schedule_name"]
    clock.advance(timedelta(hours=2))
    # AWS ran both; it deleted "once" (ActionAfterCompletion=DELETE), "retrying" still tries.
    aws.scheduler.delete_schedule(GroupName=GROUP, Name=once)
    assert [i["task_id"] for i in listed(aws)] == ["retrying"]
    aws.scheduler.delete_schedule(GroupName=GROUP, Name=retrying)
    # Checked once per RECHECK, not at every read.
    assert [i["task_id"] for i in listed(aws)] == ["retrying"]
    clock.advance(RECHECK)
    assert listed(aws) == []


def test_a_bad_next_token_is_422(aws: IndexedApi) -> None:
    response = aws.client.get("/scheduler/schedules", params={"next_token": "bm9wZQ=="})
    assert response.status_code == 422
