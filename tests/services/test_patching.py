"""merged_request on its own: the POST body a PATCH amounts to. The HTTP tests
(tests/api/test_lifecycle.py) hold what a PATCH stores; these point at the merge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from scheduler_api.domain.schedules import Schedule, ScheduleSpec, ScheduleTarget
from scheduler_api.services.patching import kept_start_date, merged_request
from scheduler_api.services.requests import SchedulePatchRequest, TaskPayload

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)
TARGET = ScheduleTarget("arn:aws:lambda:::function:w", "arn:aws:iam:::role/r", "{}", 2, 3600)
TASK = TaskPayload(task_id="t-1", user_id=7, action="cleanup", data={"k": 1}, labels={"team": "a"})


def stored(expression: str, **options: Any) -> Schedule:
    spec = ScheduleSpec("t-1", "g", expression, "Asia/Seoul", TARGET, **options)
    return Schedule("arn:aws:scheduler:us-east-1:123456789012:schedule/g/t-1", spec)


def merged(schedule: Schedule, **patch: Any) -> dict[str, Any]:
    return merged_request(schedule, TASK, SchedulePatchRequest.model_validate(patch), NOW)


def test_an_empty_patch_gives_back_the_stored_task_and_timing() -> None:
    body = merged(stored("rate(5 minutes)", flexible_window_minutes=3))
    assert body["rate"] == "rate(5 minutes)"
    assert body["timezone"] == "Asia/Seoul"
    assert body["flexible_window_minutes"] == 3
    assert (body["task_id"], body["user_id"], body["action"]) == ("t-1", 7, "cleanup")
    assert body["data"] == {"k": 1}
    assert body["labels"] == {"team": "a"}


def test_a_stored_cron_comes_back_as_cron() -> None:
    assert merged(stored("cron(0 9 * * ? *)"))["cron"] == "cron(0 9 * * ? *)"


def test_a_stored_at_comes_back_as_a_naive_run_at() -> None:
    body = merged(stored("at(2030-02-01T09:00:00)"))
    assert body["run_at"] == datetime(2030, 2, 1, 9)  # read in the (possibly new) zone
    assert body["start_date"] is None
    assert body["end_date"] is None


def test_given_fields_replace_the_stored_ones() -> None:
    body = merged(stored("rate(5 minutes)"), action="report", timezone="UTC", cron="0 9 * * ? *")
    assert body["action"] == "report"
    assert body["timezone"] == "UTC"
    assert body["cron"] == "cron(0 9 * * ? *)"
    assert "rate" not in body


def test_null_clears_an_optional_field_to_its_default() -> None:
    body = merged(
        stored("rate(5 minutes)", flexible_window_minutes=3),
        data=None,
        labels=None,
        overlap=None,
        max_lateness_seconds=None,
        flexible_window_minutes=None,
    )
    assert body["data"] == {}
    assert body["labels"] == {}
    assert body["overlap"] == "allow"
    assert body["max_lateness_seconds"] is None
    assert body["flexible_window_minutes"] is None


def test_a_recurring_schedule_keeps_its_dates_unless_given() -> None:
    start, end = NOW + timedelta(days=1), NOW + timedelta(days=30)
    schedule = stored("rate(5 minutes)", start_date=start, end_date=end)
    assert (merged(schedule)["start_date"], merged(schedule)["end_date"]) == (start, end)
    later = NOW + timedelta(days=60)
    assert merged(schedule, end_date=later.isoformat())["end_date"] == later


def test_a_start_date_long_past_is_dropped_not_written_back() -> None:
    past = NOW - timedelta(days=1)
    assert merged(stored("rate(5 minutes)", start_date=past))["start_date"] is None
    assert kept_start_date(past, NOW) is None
    assert kept_start_date(NOW - timedelta(minutes=4), NOW) == NOW - timedelta(minutes=4)
    assert kept_start_date(None, NOW) is None
