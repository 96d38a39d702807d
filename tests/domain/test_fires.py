"""domain/fires.py: each name's bound is included ("from") or not ("after"), and the spec
helpers agree with the expression ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scheduler_api.domain.expressions.parse import parse_expression, parse_timezone
from scheduler_api.domain.fires import (
    fire_between,
    fires_after,
    fires_from,
    first_fire,
    next_fire_after,
    next_fire_from,
    upcoming_fire,
    upcoming_fires,
)
from scheduler_api.domain.schedules import ScheduleSpec, ScheduleTarget

UTC_ZONE = parse_timezone("UTC")
NINE = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
MICRO = timedelta(microseconds=1)


def spec(expression: str, **fields: object) -> ScheduleSpec:
    target = ScheduleTarget("arn:target", "arn:role", "{}", 0, 60)
    return ScheduleSpec("s", "g", expression, "UTC", target, **fields)  # type: ignore[arg-type]


def test_cron_from_includes_its_bound_and_after_excludes_it() -> None:
    cron = parse_expression("cron(0 9 * * ? *)")
    assert fires_from(cron, zone=UTC_ZONE, since=NINE, count=1) == [NINE]
    assert fires_after(cron, zone=UTC_ZONE, after=NINE, count=1) == [NINE + timedelta(days=1)]
    assert fires_after(cron, zone=UTC_ZONE, after=NINE - MICRO, count=1) == [NINE]
    assert fires_from(cron, zone=UTC_ZONE, since=NINE + MICRO, count=1) == [
        NINE + timedelta(days=1)
    ]


def test_rate_from_counts_whole_intervals_up_to_its_bound() -> None:
    rate = parse_expression("rate(10 minutes)")
    ten = timedelta(minutes=10)
    assert fires_from(rate, zone=UTC_ZONE, since=NINE, count=2) == [NINE, NINE + ten]
    on_a_fire = fires_from(rate, zone=UTC_ZONE, since=NINE + ten, count=1, anchor=NINE)
    assert on_a_fire == [NINE + ten]
    between = fires_from(rate, zone=UTC_ZONE, since=NINE + ten + MICRO, count=1, anchor=NINE)
    assert between == [NINE + 2 * ten]
    after_a_fire = fires_after(rate, zone=UTC_ZONE, after=NINE + ten, count=1, anchor=NINE)
    assert after_a_fire == [NINE + 2 * ten]


def test_start_date_is_included_and_end_date_too() -> None:
    cron = parse_expression("cron(0 9 * * ? *)")
    times = fires_after(
        cron,
        zone=UTC_ZONE,
        after=NINE - timedelta(days=3),
        count=5,
        start_date=NINE,
        end_date=NINE + timedelta(days=1),
    )
    assert times == [NINE, NINE + timedelta(days=1)]
    at_start = fires_after(cron, zone=UTC_ZONE, after=NINE, count=1, start_date=NINE)
    assert at_start == [NINE + timedelta(days=1)]


def test_at_is_bounded_by_its_moment_only() -> None:
    at = parse_expression("at(2030-01-01T09:00:00)")
    assert fires_from(at, zone=UTC_ZONE, since=NINE, count=1) == [NINE]
    assert fires_after(at, zone=UTC_ZONE, after=NINE, count=1) == []
    assert fires_from(at, zone=UTC_ZONE, since=NINE, count=0) == []


def test_a_spec_fires_first_at_creation_unless_paused() -> None:
    assert first_fire(spec("rate(5 minutes)"), NINE) == NINE
    assert first_fire(spec("rate(5 minutes)", state="DISABLED"), NINE) is None
    assert first_fire(spec("rate(5 minutes)", end_date=NINE - MICRO), NINE) is None
    assert first_fire(spec("cron(0 9 * * ? *)"), NINE) == NINE


def test_spec_helpers_name_their_bound() -> None:
    daily = spec("cron(0 9 * * ? *)")
    tomorrow = NINE + timedelta(days=1)
    assert next_fire_from(daily, NINE, NINE) == NINE
    assert next_fire_after(daily, NINE, NINE) == tomorrow
    assert fire_between(daily, after=NINE - MICRO, until=NINE, created_at=NINE) == NINE
    assert fire_between(daily, after=NINE, until=tomorrow - MICRO, created_at=NINE) is None
    assert upcoming_fires(daily, now=NINE, created_at=NINE, count=2) == [NINE, tomorrow]


def test_the_index_keeps_a_passed_at_time_and_nothing_for_a_paused_schedule() -> None:
    passed = upcoming_fire(
        "at(2030-01-01T09:00:00)",
        "UTC",
        state="ENABLED",
        anchor=NINE,
        start_date=None,
        end_date=None,
        now=NINE + timedelta(days=1),
    )
    assert passed == NINE
    paused = upcoming_fire(
        "rate(1 minute)",
        "UTC",
        state="DISABLED",
        anchor=NINE,
        start_date=None,
        end_date=None,
        now=NINE,
    )
    assert paused is None
