"""etag_of and if_match_holds on their own: a failure here points at the function, while
the HTTP tests (tests/api) hold the If-Match contract."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

from scheduler_api.domain.schedules import Schedule, ScheduleSpec, ScheduleTarget
from scheduler_api.services.etags import etag_of, if_match_holds

TARGET = ScheduleTarget("arn:aws:lambda:::function:w", "arn:aws:iam:::role/r", "{}", 2, 3600)
SPEC = ScheduleSpec("t-1", "g", "rate(5 minutes)", "UTC", TARGET)
ARN = "arn:aws:scheduler:us-east-1:123456789012:schedule/g/t-1"


def test_an_etag_is_a_quoted_strong_tag() -> None:
    etag = etag_of(Schedule(ARN, SPEC))
    assert etag.startswith('"')
    assert etag.endswith('"')
    assert not etag.startswith("W/")
    assert len(etag) == 26


def test_what_is_not_stored_does_not_change_the_etag() -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    plain = etag_of(Schedule(ARN, SPEC))
    assert etag_of(Schedule(ARN, SPEC, now, now, revision="7")) == plain
    assert etag_of(Schedule("another-arn", SPEC)) == plain


def test_each_stored_field_changes_the_etag() -> None:
    plain = etag_of(Schedule(ARN, SPEC))
    changed = [
        replace(SPEC, expression="rate(6 minutes)"),
        replace(SPEC, state="DISABLED"),
        replace(SPEC, description="task_id=t-1 request=other"),
        replace(SPEC, end_date=datetime(2031, 1, 1, tzinfo=UTC)),
        replace(SPEC, flexible_window_minutes=5),
        replace(SPEC, target=replace(TARGET, input='{"a":1}')),
        replace(SPEC, target=replace(TARGET, dead_letter_arn="arn:aws:sqs:::dlq")),
    ]
    assert all(etag_of(Schedule(ARN, spec)) != plain for spec in changed)


def test_one_moment_in_two_zones_hashes_alike() -> None:
    """What CreateSchedule was sent and what GetSchedule returns may differ in zone."""
    utc = datetime(2031, 1, 1, 9, tzinfo=UTC)
    seoul = utc.astimezone(timezone(timedelta(hours=9)))
    assert etag_of(Schedule(ARN, replace(SPEC, end_date=utc))) == etag_of(
        Schedule(ARN, replace(SPEC, end_date=seoul))
    )


def test_if_match_absent_or_star_always_holds() -> None:
    assert if_match_holds(None, '"abc"')
    assert if_match_holds("*", '"abc"')
    assert if_match_holds(" * ", '"abc"')


def test_if_match_holds_when_one_listed_tag_is_current() -> None:
    assert if_match_holds('"abc"', '"abc"')
    assert if_match_holds('"old", "abc"', '"abc"')
    assert not if_match_holds('"old"', '"abc"')


def test_a_weak_tag_never_matches() -> None:
    assert not if_match_holds('W/"abc"', '"abc"')
