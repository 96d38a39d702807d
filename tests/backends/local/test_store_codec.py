"""The local store's spec codec (store/codec.py): what the backend writes, the engine reads."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from scheduler_api.backends.local.store.codec import spec_from_json, spec_to_json
from scheduler_api.domain.schedules import ScheduleSpec, ScheduleTarget

TARGET = ScheduleTarget(
    arn="arn:aws:lambda:us-east-1:000000000000:function:worker",
    role_arn="arn:aws:iam::000000000000:role/scheduler",
    input='{"body": "{\\"task_id\\": \\"t1\\"}"}',
    maximum_retry_attempts=2,
    maximum_event_age_seconds=3600,
)


def test_a_spec_with_every_field_set_comes_back_equal() -> None:
    spec = ScheduleSpec(
        name="nightly",
        group_name="default",
        expression="cron(0 3 * * ? *)",
        timezone="Europe/Paris",
        target=ScheduleTarget(**{**vars(TARGET), "dead_letter_arn": "arn:aws:sqs:dlq"}),
        description="every night",
        state="DISABLED",
        start_date=datetime(2030, 1, 1, tzinfo=UTC),
        end_date=datetime(2031, 1, 1, 12, 30, tzinfo=UTC),
        flexible_window_minutes=5,
        action_after_completion="DELETE",
    )
    assert spec_from_json(spec_to_json(spec)) == spec


def test_a_spec_with_the_defaults_comes_back_equal() -> None:
    spec = ScheduleSpec("once", "default", "at(2030-01-01T00:00:00)", "UTC", TARGET)
    assert spec_from_json(spec_to_json(spec)) == spec


def test_the_stored_text_is_flat_json_with_iso_dates_and_the_target_nested() -> None:
    """Older files hold this shape; labels_of and stored_zone read it without the codec."""
    spec = ScheduleSpec(
        "once", "default", "rate(5 minutes)", "UTC", TARGET,
        start_date=datetime(2030, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    stored = json.loads(spec_to_json(spec))
    assert stored["start_date"] == "2030-01-01T00:00:00+00:00"
    assert stored["timezone"] == "UTC"
    assert stored["target"]["input"] == TARGET.input
