"""AWS cron, rate and at semantics: what parses, and when it fires."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scheduler_api.domain.errors import ExpressionError
from scheduler_api.domain.expressions.parse import (
    parse_cron,
    parse_expression,
    parse_rate,
    parse_timezone,
)
from scheduler_api.domain.fires import fires_after

UTC_ZONE = parse_timezone("UTC")
NEW_YORK = parse_timezone("America/New_York")


def fires(
    expression: str, after: datetime, count: int = 3, zone: str = "UTC", **kwargs: datetime
) -> list[datetime]:
    return fires_after(
        parse_expression(expression),
        zone=parse_timezone(zone),
        after=after,
        count=count,
        **kwargs,
    )


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0 9 * * *", "6 fields"),
        ("0 9 * * ? * *", "6 fields"),
        ("0 9 ? * ? *", "exactly one"),
        ("0 9 * * * *", "exactly one"),
        ("60 9 * * ? *", "outside 0-59"),
        ("0 24 * * ? *", "outside 0-23"),
        ("0 9 32 * ? *", "outside 1-31"),
        ("0 9 * 13 ? *", "outside 1-12"),
        ("0 9 ? * 8 *", "outside 1-7"),
        ("0 9 * * ? 1969", "outside 1970-2199"),
        ("0 9 * * ? 2200", "outside 1970-2199"),
        ("*/0 9 * * ? *", "step"),
        ("30-10 9 * * ? *", "backwards"),
        ("0 9 ? * MON#6 *", "occurrence"),
        ("0 9 * FOO ? *", "not a valid value"),
    ],
)
def test_invalid_cron_is_refused_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        parse_cron(text)


def test_cron_accepts_wrapper_names_and_case() -> None:
    assert parse_cron("cron(0 9 ? jan-mar mon-fri *)").render() == "cron(0 9 ? jan-mar mon-fri *)"
    assert parse_cron("  0 9 * * ? *  ").render() == "cron(0 9 * * ? *)"


def test_daily_cron() -> None:
    assert fires("cron(0 9 * * ? *)", utc(2030, 1, 1, 9, 0)) == [
        utc(2030, 1, 2, 9),
        utc(2030, 1, 3, 9),
        utc(2030, 1, 4, 9),
    ]


def test_day_of_week_one_is_sunday() -> None:
    # 2030-01-06 is a Sunday.
    assert fires("cron(0 0 ? * 1 *)", utc(2030, 1, 1), count=2) == [
        utc(2030, 1, 6),
        utc(2030, 1, 13),
    ]
    assert fires("cron(0 0 ? * SUN *)", utc(2030, 1, 1), count=1) == [utc(2030, 1, 6)]


def test_steps_ranges_and_lists() -> None:
    assert fires("cron(0/20 9 * * ? *)", utc(2030, 1, 1), count=4) == [
        utc(2030, 1, 1, 9, 0),
        utc(2030, 1, 1, 9, 20),
        utc(2030, 1, 1, 9, 40),
        utc(2030, 1, 2, 9, 0),
    ]
    assert fires("cron(15 8-10/2 1,15 * ? *)", utc(2030, 1, 1), count=3) == [
        utc(2030, 1, 1, 8, 15),
        utc(2030, 1, 1, 10, 15),
        utc(2030, 1, 15, 8, 15),
    ]


def test_last_day_of_month_and_last_weekday() -> None:
    assert fires("cron(0 0 L * ? *)", utc(2030, 1, 1), count=3) == [
        utc(2030, 1, 31),
        utc(2030, 2, 28),
        utc(2030, 3, 31),
    ]
    # 2030-03-31 is a Sunday: the last weekday of March is Friday the 29th.
    assert fires("cron(0 0 LW 3 ? 2030)", utc(2030, 1, 1), count=1) == [utc(2030, 3, 29)]


def test_nearest_weekday_stays_in_the_month() -> None:
    # 2030-06-01 is a Saturday: 1W is Monday the 3rd, not Friday in May.
    assert fires("cron(0 0 1W 6 ? 2030)", utc(2030, 1, 1), count=1) == [utc(2030, 6, 3)]
    # 2030-06-15 is a Saturday: 15W is Friday the 14th.
    assert fires("cron(0 0 15W 6 ? 2030)", utc(2030, 1, 1), count=1) == [utc(2030, 6, 14)]


def test_nth_and_last_day_of_week() -> None:
    # Second Tuesday (3#2) and last Friday (6L) of January 2030.
    assert fires("cron(0 0 ? 1 3#2 2030)", utc(2030, 1, 1), count=1) == [utc(2030, 1, 8)]
    assert fires("cron(0 0 ? 1 6L 2030)", utc(2030, 1, 1), count=1) == [utc(2030, 1, 25)]
    assert fires("cron(0 0 ? 1 FRIL 2030)", utc(2030, 1, 1), count=1) == [utc(2030, 1, 25)]


def test_cron_that_never_fires_again_yields_nothing() -> None:
    assert fires("cron(0 0 1 1 ? 2020)", utc(2030, 1, 1)) == []
    assert fires("cron(0 0 30 2 ? *)", utc(2030, 1, 1)) == []


def test_dst_skipped_local_time_does_not_fire() -> None:
    # 2030-03-10 02:30 does not exist in New York (clocks jump 02:00 -> 03:00).
    times = fires("cron(30 2 * * ? *)", utc(2030, 3, 8, 12), count=3, zone="America/New_York")
    assert times == [utc(2030, 3, 9, 7, 30), utc(2030, 3, 11, 6, 30), utc(2030, 3, 12, 6, 30)]


def test_dst_repeated_local_time_fires_once() -> None:
    # 2030-11-03 01:30 happens twice in New York; it fires once, at the first.
    times = fires("cron(30 1 * * ? *)", utc(2030, 11, 2, 12), count=3, zone="America/New_York")
    assert times == [utc(2030, 11, 3, 5, 30), utc(2030, 11, 4, 6, 30), utc(2030, 11, 5, 6, 30)]


def test_cron_in_a_time_zone() -> None:
    # 09:00 in Seoul (UTC+9) is 00:00 UTC.
    assert fires("cron(0 9 * * ? *)", utc(2029, 12, 31, 12), count=2, zone="Asia/Seoul") == [
        utc(2030, 1, 1, 0, 0),
        utc(2030, 1, 2, 0, 0),
    ]


def test_rate_forms_and_errors() -> None:
    assert parse_rate("5 minutes").render() == "rate(5 minutes)"
    assert parse_rate("rate(1 hour)").render() == "rate(1 hour)"
    assert parse_rate("1 hours").render() == "rate(1 hour)"
    assert parse_rate("2 day").render() == "rate(2 days)"
    for bad in ("0 minutes", "5 weeks", "five minutes", "rate(5)", "-1 minutes"):
        with pytest.raises(ExpressionError):
            parse_rate(bad)


def test_rate_starts_at_start_date_or_creation() -> None:
    created = utc(2030, 1, 1, 0, 0, 30)
    assert fires("rate(10 minutes)", created, count=2, anchor=created) == [
        created + timedelta(minutes=10),
        created + timedelta(minutes=20),
    ]
    start = utc(2030, 1, 2, 8)
    assert fires("rate(1 day)", created, count=2, start_date=start) == [
        start,
        start + timedelta(days=1),
    ]


def test_end_date_bounds_recurring_fires() -> None:
    end = utc(2030, 1, 3, 9)
    assert fires("cron(0 9 * * ? *)", utc(2030, 1, 1, 10), count=5, end_date=end) == [
        utc(2030, 1, 2, 9),
        utc(2030, 1, 3, 9),
    ]


def test_at_is_read_in_its_time_zone() -> None:
    assert fires("at(2030-01-01T09:00:00)", utc(2029, 12, 31), zone="Asia/Seoul") == [
        utc(2030, 1, 1, 0, 0)
    ]
    assert fires("at(2030-06-01T09:00:00)", utc(2030, 1, 1), zone="America/New_York") == [
        utc(2030, 6, 1, 13, 0)
    ]
    assert fires("at(2030-06-01T09:00:00)", utc(2030, 7, 1)) == []


def test_at_in_a_skipped_hour_never_fires() -> None:
    assert fires("at(2030-03-10T02:30:00)", utc(2030, 1, 1), zone="America/New_York") == []


@pytest.mark.parametrize(
    "text", ["at(2030-13-01T00:00:00)", "at(2030-01-01)", "every day", "cron()", ""]
)
def test_unknown_or_malformed_expressions(text: str) -> None:
    with pytest.raises(ExpressionError):
        parse_expression(text)


def test_unknown_time_zone() -> None:
    with pytest.raises(ExpressionError, match="IANA"):
        parse_timezone("Mars/Olympus")
    with pytest.raises(ExpressionError):
        parse_timezone("../etc/passwd")
