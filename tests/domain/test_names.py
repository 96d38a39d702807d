"""Schedule names from task_ids, and schedule ARNs."""

from __future__ import annotations

import re

import pytest

from scheduler_api.domain.names import (
    InvalidScheduleArnError,
    ScheduleArn,
    schedule_name_for,
)

AWS_NAME = re.compile(r"^[0-9A-Za-z_.-]{1,64}$")


def test_a_task_id_that_is_a_valid_name_is_used_as_is() -> None:
    assert schedule_name_for("payment-reminder-42") == "payment-reminder-42"
    assert schedule_name_for("a" * 64) == "a" * 64


@pytest.mark.parametrize("task_id", ["order:42", "x" * 65, "a:" * 64, "user:1:daily.report"])
def test_other_task_ids_get_a_valid_hashed_name(task_id: str) -> None:
    name = schedule_name_for(task_id)
    assert AWS_NAME.match(name)
    assert name == schedule_name_for(task_id)  # deterministic


def test_task_ids_that_sanitise_alike_get_different_names() -> None:
    names = {schedule_name_for(t) for t in ["a:b", "a_b", "a.b:", "a:b:"]}
    assert len(names) == 4
    long_a, long_b = "x" * 70 + "a", "x" * 70 + "b"
    assert schedule_name_for(long_a) != schedule_name_for(long_b)


def test_schedule_arn_round_trip() -> None:
    text = "arn:aws:scheduler:ap-northeast-2:123456789012:schedule/default/task-abc12345"
    arn = ScheduleArn.parse(text)
    assert (arn.region, arn.account, arn.group, arn.name) == (
        "ap-northeast-2",
        "123456789012",
        "default",
        "task-abc12345",
    )
    assert str(arn) == text


@pytest.mark.parametrize(
    "text",
    [
        "task-abc",
        "arn:aws:scheduler:us-east-1:123456789012:schedule/default",
        "arn:aws:scheduler:us-east-1:123456789012:schedule-group/default",
        "arn:aws:lambda:us-east-1:123456789012:function:f",
        "arn:aws:scheduler:us-east-1:1234:schedule/default/x",
        "arn:aws:scheduler:us-east-1:123456789012:schedule/default/x/y",
    ],
)
def test_not_a_schedule_arn(text: str) -> None:
    with pytest.raises(InvalidScheduleArnError):
        ScheduleArn.parse(text)
