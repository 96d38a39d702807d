"""The same HTTP behaviour whichever backend holds the schedules."""

from __future__ import annotations

from typing import Any

import pytest

from scheduler_api.backends.aws.eventbridge import EventBridgeBackend
from scheduler_api.backends.local.backend import LocalBackend
from scheduler_api.domain.schedules import ScheduleSpec, ScheduleTarget
from tests.conftest import (
    LAMBDA_ARN,
    ROLE_ARN,
    Api,
    task_body,
)


def test_post_is_idempotent_per_task_id(api: Api) -> None:
    first = api.client.post("/scheduler/schedule", json=task_body())
    again = api.client.post("/scheduler/schedule", json=task_body())
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json()["schedule_arn"] == first.json()["schedule_arn"]
    other = api.client.post("/scheduler/schedule", json=task_body(delay_minutes=5))
    assert other.status_code == 409
    assert other.json()["existing_schedule_arn"] == first.json()["schedule_arn"]


def test_get_list_and_cancel(api: Api) -> None:
    arn = api.client.post("/scheduler/schedule", json=task_body(cron="0 9 * * ? *")).json()[
        "schedule_arn"
    ]
    detail = api.client.get(f"/scheduler/schedule/{arn}").json()
    assert detail["task"]["task_id"] == "task-123"
    assert detail["next_run_times"][0] == "2030-01-01T09:00:00Z"
    listed = api.client.get("/scheduler/schedules").json()["schedules"]
    assert [item["schedule_arn"] for item in listed] == [arn]
    assert api.client.delete(f"/scheduler/schedule/{arn}").status_code == 200
    assert api.client.get(f"/scheduler/schedule/{arn}").status_code == 404


def test_another_groups_schedule_is_left_alone(api: Api) -> None:
    foreign = ScheduleSpec(
        name="task-123",
        group_name="other-team",
        expression="rate(1 hour)",
        timezone="UTC",
        target=ScheduleTarget(LAMBDA_ARN, ROLE_ARN, "{}", 0, 60),
    )
    arn = api.backend.create_schedule(foreign)
    assert api.client.delete(f"/scheduler/schedule/{arn}").status_code == 404
    assert api.backend.get_schedule("other-team", "task-123").arn == arn


@pytest.mark.parametrize("partition", ["aws-cn", "aws-us-gov"])
def test_an_arn_of_another_partition_is_404_and_untouched(
    api: Api, partition: str, caplog: pytest.LogCaptureFixture
) -> None:
    arn = api.client.post("/scheduler/schedule", json=task_body()).json()["schedule_arn"]
    assert arn.startswith("arn:aws:scheduler:")
    elsewhere = arn.replace("arn:aws:", f"arn:{partition}:", 1)
    assert api.client.delete(f"/scheduler/schedule/{elsewhere}").status_code == 404
    assert api.client.get(f"/scheduler/schedule/{elsewhere}").status_code == 404
    assert api.client.get(f"/scheduler/schedule/{arn}").status_code == 200  # still there
    assert "another partition" in caplog.text


def test_the_log_names_what_differs_in_a_refused_arn(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    arn = api.client.post("/scheduler/schedule", json=task_body()).json()["schedule_arn"]
    other_account = arn.replace(":123456789012:", ":999999999999:")
    assert api.client.delete(f"/scheduler/schedule/{other_account}").status_code == 404
    assert "another account" in caplog.text
    assert "another group" not in caplog.text


@pytest.mark.parametrize(
    ("timing", "field"),
    [
        ({"cron": "0 0 30 2 ? *"}, "cron"),  # no year has 30 February
        ({"cron": "0 0 1 1 ? 2020"}, "cron"),  # a year gone by
        # Started 30 s ago: the next fire is a day away, after end_date.
        (
            {
                "rate": "1 day",
                "start_date": "2030-01-01T00:00:00Z",
                "end_date": "2030-01-01T01:00:00Z",
            },
            "end_date",
        ),
    ],
)
def test_a_schedule_that_would_never_fire_is_422(
    api: Api, timing: dict[str, str], field: str
) -> None:
    response = api.client.post("/scheduler/schedule", json=task_body(**timing))
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", field]
    assert "never fires" in error["msg"]
    assert api.client.get("/scheduler/schedules").json()["schedules"] == []


def test_a_rate_schedule_lists_its_first_fire_at_creation(api: Api) -> None:
    created = api.client.post("/scheduler/schedule", json=task_body(rate="10 minutes")).json()
    assert created["next_run_times"][:2] == ["2030-01-01T00:00:30Z", "2030-01-01T00:10:30Z"]
    if isinstance(api.backend, LocalBackend):  # moto dates CreationDate by the real clock
        detail = api.client.get(f"/scheduler/schedule/{created['schedule_arn']}").json()
        assert detail["next_run_times"][0] == "2030-01-01T00:00:30Z"


def test_labels_and_policies_are_stored_and_shown(api: Api) -> None:
    request = task_body(
        cron="0 9 * * ? *",
        labels={"customer": "c-42", "tier": "gold"},
        overlap="skip" if isinstance(api.backend, EventBridgeBackend) else "allow",
        max_lateness_seconds=300,
    )
    arn = api.client.post("/scheduler/schedule", json=request).json()["schedule_arn"]
    task = api.client.get(f"/scheduler/schedule/{arn}").json()["task"]
    assert task["labels"] == {"customer": "c-42", "tier": "gold"}
    assert task["max_lateness_seconds"] == 300
    assert task["overlap"] == request["overlap"]


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"labels": {"Customer": "c-42"}}, "labels"),  # keys are lower case
        ({"labels": {f"k{n}": "v" for n in range(11)}}, "labels"),  # at most 10
        ({"labels": {"note": "x" * 129}}, "labels"),
        ({"max_lateness_seconds": 59}, "max_lateness_seconds"),
        ({"overlap": "queue"}, "overlap"),
    ],
)
def test_bad_labels_and_policies_are_422(api: Api, extra: dict[str, Any], field: str) -> None:
    response = api.client.post("/scheduler/schedule", json={**task_body(), **extra})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][:2] == ["body", field]
