"""A schedule over its life, on both backends: PATCH with ETags, pause and resume."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from fastapi.testclient import TestClient
from moto import mock_aws

from lambda_worker.handler import lambda_handler
from scheduler_api.main import create_app
from task_contract import signature_is_valid, verified_signature
from tests.backends.local.test_local_processes import wait_for
from tests.conftest import (
    AUTH,
    GROUP,
    REGION,
    Api,
    FakeClock,
    LocalApp,
    make_function,
    make_local_settings,
    make_settings,
    task_body,
)
from tests.support.lambda_context import LAMBDA_CONTEXT
from tests.support.probe_handler import events_for

if TYPE_CHECKING:
    from mypy_boto3_scheduler import EventBridgeSchedulerClient


def create(api: Api, task_id: str = "task-123", **timing: Any) -> dict[str, Any]:
    response = api.client.post("/scheduler/schedule", json=task_body(task_id, **timing))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def patch(api: Api, arn: str, changes: dict[str, Any], **headers: str) -> Any:
    return api.client.patch(f"/scheduler/schedule/{arn}", json=changes, headers=headers)


def test_post_get_and_patch_carry_the_same_etag_until_a_change(api: Api) -> None:
    created = create(api, cron="0 9 * * ? *")
    arn = created["schedule_arn"]
    got = api.client.get(f"/scheduler/schedule/{arn}")
    assert got.headers["ETag"] == got.json()["etag"] == created["etag"]
    changed = patch(api, arn, {"cron": "0 10 * * ? *"})
    assert changed.status_code == 200
    assert changed.headers["ETag"] == changed.json()["etag"] != created["etag"]
    assert api.client.get(f"/scheduler/schedule/{arn}").json()["etag"] == changed.json()["etag"]


def test_patch_changes_timing_and_task_in_place(api: Api) -> None:
    arn = create(api, cron="0 9 * * ? *")["schedule_arn"]
    response = patch(
        api,
        arn,
        {
            "cron": "30 10 ? * MON-FRI *",
            "timezone": "Asia/Seoul",
            "data": {"notification_type": "final"},
            "labels": {"customer": "c-42"},
            "max_lateness_seconds": 600,
        },
    )
    assert response.status_code == 200, response.text
    detail = response.json()
    assert detail["schedule_arn"] == arn
    assert detail["schedule_expression"] == "cron(30 10 ? * MON-FRI *)"
    assert detail["timezone"] == "Asia/Seoul"
    assert detail["next_run_times"][0] == "2030-01-01T01:30:00Z"  # Tuesday 10:30 Seoul
    task = detail["task"]
    assert (task["task_id"], task["user_id"], task["action"]) == (
        "task-123",
        456,
        "send_notification",
    )
    assert task["data"] == {"notification_type": "final"}  # replaced whole
    assert task["labels"] == {"customer": "c-42"}
    assert task["max_lateness_seconds"] == 600
    got = api.client.get(f"/scheduler/schedule/{arn}").json()
    assert {**got, "updated_at": None} == {**detail, "updated_at": None}  # moto dates by its clock


def test_a_one_time_schedule_becomes_recurring_and_back(api: Api) -> None:
    arn = create(api, delay_minutes=30)["schedule_arn"]
    recurring = patch(api, arn, {"rate": "1 hour"}).json()
    assert recurring["schedule_expression"] == "rate(1 hour)"
    if api.local:  # moto keeps the first ActionAfterCompletion on update
        assert recurring["action_after_completion"] == "NONE"
    back = patch(api, arn, {"run_at": "2030-01-02T08:00:00Z"}).json()
    assert back["schedule_expression"] == "at(2030-01-02T08:00:00)"
    assert back["action_after_completion"] == "DELETE"
    assert back["next_run_times"] == ["2030-01-02T08:00:00Z"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"task_id": "another"}, "task_id"),
        ({"user_id": 7}, "user_id"),
        ({"colour": "blue"}, "colour"),
        ({"cron": "0 9 * * ? *", "rate": "1 hour"}, None),
        ({"cron": "0 0 30 2 ? *"}, "cron"),  # never fires
        ({"start_date": "2030-02-01T00:00:00Z"}, "start_date"),  # one-time: no dates
        ({"labels": {"UPPER": "x"}}, "labels"),
    ],
)
def test_a_bad_patch_is_422_naming_the_field_and_changes_nothing(
    api: Api, changes: dict[str, Any], field: str | None
) -> None:
    created = create(api, delay_minutes=30)
    response = patch(api, created["schedule_arn"], changes)
    assert response.status_code == 422, response.text
    if field is not None:
        assert field in json.dumps(response.json()["detail"])
    after = api.client.get(f"/scheduler/schedule/{created['schedule_arn']}").json()
    assert after["etag"] == created["etag"]


def test_a_stale_etag_is_412_and_changes_nothing(api: Api) -> None:
    created = create(api, cron="0 9 * * ? *")
    arn, first = created["schedule_arn"], created["etag"]
    second = patch(api, arn, {"cron": "0 10 * * ? *"}, **{"If-Match": first}).json()["etag"]
    stale = patch(api, arn, {"cron": "0 11 * * ? *"}, **{"If-Match": first})
    assert stale.status_code == 412
    assert "GET it again" in stale.json()["detail"]
    assert api.client.get(f"/scheduler/schedule/{arn}").json()["schedule_expression"] == (
        "cron(0 10 * * ? *)"
    )
    assert patch(api, arn, {"cron": "0 11 * * ? *"}, **{"If-Match": second}).status_code == 200
    assert patch(api, arn, {"cron": "0 12 * * ? *"}, **{"If-Match": "*"}).status_code == 200
    assert patch(api, arn, {"cron": "0 13 * * ? *"}).status_code == 200  # no If-Match: applies


def test_patch_of_another_groups_or_a_missing_schedule_is_404(api: Api) -> None:
    arn = create(api)["schedule_arn"]
    assert (
        patch(api, arn.replace(f"/{GROUP}/", "/other-team/"), {"rate": "1 hour"}).status_code == 404
    )
    assert patch(api, arn.replace("task-123", "nope"), {"rate": "1 hour"}).status_code == 404


def test_pause_and_resume_set_the_state_shown_by_get_and_list(api: Api) -> None:
    created = create(api, cron="0 9 * * ? *")
    arn = created["schedule_arn"]
    paused = api.client.post(f"/scheduler/schedule/{arn}/pause")
    assert paused.status_code == 200
    assert paused.json()["state"] == "DISABLED"
    again = api.client.post(f"/scheduler/schedule/{arn}/pause")
    assert again.status_code == 200
    assert again.json()["etag"] == paused.json()["etag"]  # no change
    (listed,) = api.client.get("/scheduler/schedules").json()["schedules"]
    assert listed["state"] == "DISABLED"
    resumed = api.client.post(f"/scheduler/schedule/{arn}/resume")
    assert resumed.json()["state"] == "ENABLED"
    assert api.client.get(f"/scheduler/schedule/{arn}").json()["state"] == "ENABLED"


def test_resuming_a_one_time_schedule_whose_time_passed_is_409(api: Api, clock: FakeClock) -> None:
    arn = create(api, delay_minutes=5)["schedule_arn"]
    api.client.post(f"/scheduler/schedule/{arn}/pause")
    clock.advance(timedelta(minutes=10))
    response = api.client.post(f"/scheduler/schedule/{arn}/resume")
    assert response.status_code == 409
    assert "PATCH run_at" in response.json()["detail"]
    assert "run it now" in response.json()["detail"]


def test_a_paused_schedule_does_not_fire_while_its_time_passes(local_app: LocalApp) -> None:
    api = local_app.client
    arn = api.post("/scheduler/schedule", json=task_body("paused", cron="0/10 * * * ? *")).json()[
        "schedule_arn"
    ]
    api.post(f"/scheduler/schedule/{arn}/pause")
    for _ in range(6):
        local_app.advance(600)  # an hour of fires fall due
    assert events_for("paused") == []
    resumed = api.post(f"/scheduler/schedule/{arn}/resume").json()
    assert resumed["next_run_times"][0] == "2030-01-01T01:10:00Z"  # the next after now
    assert local_app.advance(1) == 0  # nothing missed is caught up
    local_app.advance(570)  # 01:10:01
    assert [r["scheduled_time"] for r in local_app.runs("paused")] == ["2030-01-01T01:10:00Z"]


def test_patch_keeps_every_aws_setting_and_signs_the_new_input(
    scheduler_client: EventBridgeSchedulerClient, clock: FakeClock
) -> None:
    """UpdateSchedule resets whatever it is not given: read it back from moto."""
    secret = "patch-secret-123"
    app = create_app(
        make_settings(callback_secret=secret), scheduler_client=scheduler_client, clock=clock
    )
    with TestClient(app, headers=AUTH) as client:
        arn = client.post("/scheduler/schedule", json=task_body("kept", delay_minutes=30)).json()[
            "schedule_arn"
        ]
        before = scheduler_client.get_schedule(GroupName=GROUP, Name="kept")
        changes = {"run_at": "2030-01-01T06:00:00Z", "data": {"v": 2}}
        assert client.patch(f"/scheduler/schedule/{arn}", json=changes).status_code == 200
    after = scheduler_client.get_schedule(GroupName=GROUP, Name="kept")
    assert after["ScheduleExpression"] == "at(2030-01-01T06:00:00)"
    for key in ("Arn", "RoleArn", "RetryPolicy", "DeadLetterConfig"):
        assert after["Target"][key] == before["Target"][key], key
    assert after["ActionAfterCompletion"] == before["ActionAfterCompletion"] == "DELETE"
    assert after["State"] == "ENABLED"
    event = json.loads(after["Target"]["Input"])
    assert json.loads(event["body"])["data"] == {"v": 2}
    assert event["headers"]["X-Task-Run-At"] == "2030-01-01T06:00:00Z"
    signature = event["headers"]["X-Scheduler-Signature"]
    assert signature_is_valid(secret, signature, event["body"].encode())


def test_run_now_runs_the_task_once_and_leaves_the_schedule_as_it_was(
    local_app: LocalApp,
) -> None:
    client = local_app.client
    created = client.post("/scheduler/schedule", json=task_body("now", cron="0 9 * * ? *")).json()
    arn = created["schedule_arn"]
    response = client.post(f"/scheduler/schedule/{arn}/run")
    assert response.status_code == 202
    execution_id = response.json()["execution_id"]
    assert response.json()["scheduled_time"] == "2030-01-01T00:00:30Z"
    assert local_app.engine.tick() == 1  # the engine picks it up at its next round
    (run,) = local_app.runs("now")
    assert (run["execution_id"], run["status"]) == (execution_id, "SUCCEEDED")
    (event,) = events_for("now")
    assert event["headers"]["X-Scheduler-Execution-Id"] == execution_id
    assert event["headers"]["X-Scheduler-Attempt"] == "1"
    after = client.get(f"/scheduler/schedule/{arn}").json()
    assert after["etag"] == created["etag"]
    assert after["next_run_times"][0] == "2030-01-01T09:00:00Z"


def test_run_now_of_a_one_time_schedule_keeps_it_for_its_own_time(local_app: LocalApp) -> None:
    client = local_app.client
    arn = client.post("/scheduler/schedule", json=task_body("once", delay_minutes=5)).json()[
        "schedule_arn"
    ]
    client.post(f"/scheduler/schedule/{arn}/run")
    local_app.engine.tick()
    assert client.get(f"/scheduler/schedule/{arn}").status_code == 200  # not deleted
    local_app.advance(330)  # its own time, 00:06:00
    assert [r["status"] for r in local_app.runs("once")] == ["SUCCEEDED", "SUCCEEDED"]


def test_run_now_of_a_missing_schedule_is_404(api: Api) -> None:
    arn = create(api)["schedule_arn"]
    assert (
        api.client.post(f"/scheduler/schedule/{arn.replace('task-123', 'nope')}/run").status_code
        == 404
    )


def test_run_now_on_aws_invokes_the_worker_as_eventbridge_would(clock: FakeClock) -> None:
    """An asynchronous Invoke with the stored Input, context attributes filled in, signed;
    the payload then runs through the real handler."""
    secret = "run-now-secret-1"
    with mock_aws(config={"lambda": {"use_docker": False}}):
        scheduler = boto3.client("scheduler", region_name=REGION)
        scheduler.create_schedule_group(Name=GROUP)
        make_function()
        app = create_app(
            make_settings(callback_secret=secret), scheduler_client=scheduler, clock=clock
        )
        sent: list[tuple[str, bytes]] = []
        with TestClient(app, headers=AUTH) as client:
            invoker = app.state.runtime.service.invoker._client
            invoker.meta.events.register(
                "before-send.lambda.Invoke",
                lambda request, **_: sent.append(
                    (request.headers["X-Amz-Invocation-Type"].decode(), request.body)
                ),
            )
            arn = client.post(
                "/scheduler/schedule", json=task_body("aws-now", cron="0 9 * * ? *")
            ).json()["schedule_arn"]
            response = client.post(f"/scheduler/schedule/{arn}/run")
            again = client.post(f"/scheduler/schedule/{arn}/run")  # the schedule is still there
    assert response.status_code == 202
    assert again.status_code == 202
    assert len(sent) == 2
    invocation_type, payload = sent[0]
    assert invocation_type == "Event"
    event = json.loads(payload)
    headers = event["headers"]
    assert headers["X-Scheduler-Schedule-Arn"] == arn
    assert headers["X-Scheduler-Scheduled-Time"] == "2030-01-01T00:00:30Z"
    assert headers["X-Scheduler-Execution-Id"] == response.json()["execution_id"]
    assert headers["X-Scheduler-Attempt"] == "1"
    assert headers["X-Task-Manual-Run"] == response.json()["execution_id"]
    # Signed at the invoke, over the body and every context header (v2), not only the body.
    lowered = {name.lower(): value for name, value in headers.items()}
    signature = verified_signature(
        secret, headers["X-Scheduler-Signature"], event["body"].encode(), lowered
    )
    assert signature is not None
    assert signature.covers_context
    assert lambda_handler(event, LAMBDA_CONTEXT)["statusCode"] == 200  # what the worker makes of it


def test_run_now_when_the_function_is_gone_is_502(
    scheduler_client: EventBridgeSchedulerClient, clock: FakeClock
) -> None:
    app = create_app(make_settings(), scheduler_client=scheduler_client, clock=clock)
    with TestClient(app, headers=AUTH) as client:
        arn = client.post("/scheduler/schedule", json=task_body("gone", cron="0 9 * * ? *")).json()[
            "schedule_arn"
        ]
        response = client.post(f"/scheduler/schedule/{arn}/run")
    assert response.status_code == 502
    assert "Invoke" in response.json()["detail"]


def test_resume_runs_missed_fires_only_within_max_lateness(local_app: LocalApp) -> None:
    """Paused for an hour, resumed: fires within max_lateness_seconds (15 min) of now run;
    older ones do not (local engine)."""
    client = local_app.client
    request = task_body("tens", cron="0/10 * * * ? *", max_lateness_seconds=900)
    arn = client.post("/scheduler/schedule", json=request).json()["schedule_arn"]
    client.post(f"/scheduler/schedule/{arn}/pause")
    for _ in range(6):
        local_app.advance(600)  # 01:00:30
    client.post(f"/scheduler/schedule/{arn}/resume")
    local_app.engine.tick()
    times = [run["scheduled_time"] for run in local_app.runs("tens")]
    assert times == ["2030-01-01T01:00:00Z", "2030-01-01T00:50:00Z"]


def test_list_shows_each_schedules_labels_where_the_backend_can(api: Api) -> None:
    create(api, "labelled", cron="0 9 * * ? *", labels={"team": "ops"})
    (item,) = api.client.get("/scheduler/schedules").json()["schedules"]
    # ListSchedules returns no Input, so on AWS labels need the index of the next issue.
    assert item["labels"] == ({"team": "ops"} if api.local else None)


def test_run_now_is_picked_up_by_a_running_engine_at_once(tmp_path: Path, clock: FakeClock) -> None:
    """The engine thread is woken by the run-now itself, not by its next poll."""
    settings = make_local_settings(tmp_path / "s.db")
    app = create_app(settings, clock=clock)  # the engine runs on its own thread
    with TestClient(app, headers=AUTH) as client:
        request = task_body("woken", cron="0 9 * * ? *")
        arn = client.post("/scheduler/schedule", json=request).json()["schedule_arn"]
        asked = time.monotonic()
        client.post(f"/scheduler/schedule/{arn}/run")

        def ran() -> bool:
            runs = client.get("/scheduler/tasks/woken/runs").json()["runs"]
            return [run["status"] for run in runs] == ["SUCCEEDED"]

        wait_for(ran, timeout=10)
    print(f"run now: done {time.monotonic() - asked:.3f} s after the request")
