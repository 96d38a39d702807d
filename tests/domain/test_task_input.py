"""domain/task_input.py: what the service writes as a schedule's Input reads back the same,
and an Input that is not one of ours reads as nothing, never as an error."""

from __future__ import annotations

import json

import pytest

from scheduler_api.domain.schedules import ScheduleSpec, ScheduleTarget
from scheduler_api.domain.task_input import (
    encode_input,
    input_body,
    input_body_text,
    input_event,
    labels_in,
    task_body,
)
from task_contract import build_proxy_event

BODY = {"task_id": "t-1", "user_id": 7, "labels": {"tier": "gold"}, "data": {"x": [1, "ü"]}}


def spec_with(target_input: str) -> ScheduleSpec:
    target = ScheduleTarget("arn:target", "arn:role", target_input, 0, 60)
    return ScheduleSpec("s", "g", "rate(1 minute)", "UTC", target)


def test_the_written_input_reads_back_its_event_and_body() -> None:
    event = build_proxy_event("/api/v1/tasks/callback", "POST", BODY)
    written = encode_input(event)
    assert written == json.dumps(event, separators=(",", ":"))  # EventBridge counts bytes
    assert input_event(written) == event
    assert input_body_text(written) == event["body"]
    assert input_body(written) == BODY
    assert task_body(spec_with(written)) == BODY
    assert labels_in(task_body(spec_with(written))) == {"tier": "gold"}


@pytest.mark.parametrize(
    "foreign",
    [
        "not json",
        "[1, 2]",
        json.dumps({"no": "body"}),
        json.dumps({"body": {"task_id": "a dict, not a string"}}),
        json.dumps({"body": "not json"}),
        json.dumps({"body": "[1]"}),
    ],
)
def test_an_input_that_is_not_ours_reads_as_nothing(foreign: str) -> None:
    assert input_body(foreign) is None
    assert task_body(spec_with(foreign)) == {}


def test_input_event_wants_an_object() -> None:
    assert input_event("[]") is None
    assert input_event("{}") == {}
    assert input_body_text(json.dumps({"body": 3})) is None


def test_labels_are_strings_whatever_the_body_holds() -> None:
    assert labels_in({"labels": {"n": 1}}) == {"n": "1"}
    assert labels_in({"labels": ["not", "a", "dict"]}) == {}
    assert labels_in({}) == {}
