"""SpecBuilder on its own: what a request is stored as, and each refusal naming its field.
The HTTP tests (tests/api) hold the contract; these point at the function."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from scheduler_api.domain.errors import PayloadTooLargeError, RequestValidationFailedError
from scheduler_api.services.requests import ScheduleTaskRequest
from scheduler_api.services.specs import SpecBuilder, description, fingerprint
from scheduler_api.services.target import ServiceTarget
from task_contract import RUN_AT_HEADER, build_proxy_event

NOW = datetime(2030, 1, 1, 12, 0, 30, tzinfo=UTC)
TARGET = ServiceTarget(
    lambda_arn="arn:aws:lambda:us-east-1:123456789012:function:worker",
    role_arn="arn:aws:iam::123456789012:role/scheduler",
    group_name="g",
    region="us-east-1",
    account_id="123456789012",
)


def builder(target: ServiceTarget = TARGET) -> SpecBuilder:
    return SpecBuilder(target, lambda: NOW, build_proxy_event)


def request(**fields: Any) -> ScheduleTaskRequest:
    return ScheduleTaskRequest.model_validate(
        {"task_id": "t-1", "user_id": 7, "action": "cleanup", **fields}
    )


def test_a_delay_is_an_at_rounded_up_to_the_minute_and_deleted_after() -> None:
    spec = builder().spec_for(request(delay_minutes=30))
    assert spec.expression == "at(2030-01-01T12:31:00)"
    assert spec.action_after_completion == "DELETE"
    event = json.loads(spec.target.input)
    assert event["headers"][RUN_AT_HEADER] == "2030-01-01T12:31:00Z"
    assert json.loads(event["body"])["task_id"] == "t-1"


def test_a_spec_carries_the_target_and_a_name_from_task_id() -> None:
    spec = builder().spec_for(request(rate="5 minutes"))
    assert spec.name == "t-1"
    assert spec.group_name == "g"
    assert spec.expression == "rate(5 minutes)"
    assert spec.target.arn == TARGET.lambda_arn
    assert spec.target.role_arn == TARGET.role_arn
    assert spec.description.startswith("task_id=t-1 request=")


def test_the_same_request_is_described_alike_and_another_is_not() -> None:
    first = builder().spec_for(request(cron="0 9 * * ? *"))
    again = builder().spec_for(request(cron="0 9 * * ? *"))
    other = builder().spec_for(request(cron="0 10 * * ? *"))
    assert first.description == again.description != other.description


def test_fingerprint_and_description() -> None:
    one = fingerprint("/p", {"a": 1}, "UTC", {"run_at": None})
    assert len(one) == 32
    assert one == fingerprint("/p", {"a": 1}, "UTC", {"run_at": None})
    assert one != fingerprint("/p", {"a": 2}, "UTC", {"run_at": None})
    assert description("t-1", one) == f"task_id=t-1 request={one}"


def test_an_unknown_action_is_refused_when_actions_are_known() -> None:
    known = ServiceTarget(**{**TARGET.__dict__, "known_actions": frozenset({"report"})})
    with pytest.raises(RequestValidationFailedError) as refused:
        builder(known).spec_for(request(delay_minutes=5))
    assert refused.value.field == "action"


def test_overlap_skip_needs_the_workers_ledger() -> None:
    without = ServiceTarget(**{**TARGET.__dict__, "worker_has_ledger": False})
    with pytest.raises(RequestValidationFailedError) as refused:
        builder(without).spec_for(request(delay_minutes=5, overlap="skip"))
    assert refused.value.field == "overlap"


def test_a_run_at_in_the_past_is_refused() -> None:
    with pytest.raises(RequestValidationFailedError) as refused:
        builder().spec_for(request(run_at=(NOW - timedelta(hours=1)).isoformat()))
    assert refused.value.field == "run_at"


def test_an_end_date_before_the_start_is_refused() -> None:
    start = NOW + timedelta(days=2)
    with pytest.raises(RequestValidationFailedError) as refused:
        builder().spec_for(
            request(
                rate="5 minutes",
                start_date=start.isoformat(),
                end_date=(start - timedelta(days=1)).isoformat(),
            )
        )
    assert refused.value.field == "end_date"


def test_a_recurrence_that_never_fires_names_its_field() -> None:
    with pytest.raises(RequestValidationFailedError) as refused:
        builder().spec_for(request(cron="0 9 30 2 ? *"))  # 30 February
    assert refused.value.field == "cron"


def test_an_at_as_a_recurrence_is_refused() -> None:
    with pytest.raises(RequestValidationFailedError) as refused:
        builder().recurring_spec(
            callback_path="/cb",
            callback_body={"task_id": "t-1"},
            schedule_expression="at(2030-02-01T00:00:00)",
            timezone="UTC",
            start_date=None,
            end_date=None,
            flexible_window_minutes=None,
        )
    assert refused.value.field == "schedule_expression"


def test_an_input_over_256_kb_is_refused() -> None:
    with pytest.raises(PayloadTooLargeError):
        builder().one_time_spec(
            callback_path="/cb",
            callback_body={"task_id": "t-1", "data": {"q": "x" * 300_000}},
            delay_minutes=5,
            run_at=None,
            timezone="UTC",
            flexible_window_minutes=None,
        )


def test_a_signed_target_signs_the_input() -> None:
    signing = ServiceTarget(**{**TARGET.__dict__, "callback_secret": "s3cret"})
    event = json.loads(builder(signing).spec_for(request(delay_minutes=5)).target.input)
    unsigned = json.loads(builder().spec_for(request(delay_minutes=5)).target.input)
    assert event["headers"] != unsigned["headers"]
