"""The AWS documentation's own cron examples, leap years, and aws-croniter as an oracle.

aws-croniter evaluates AWS cron in UTC only and has no `LW`, so it cannot be the engine
(time zones and DST are the point of ScheduleExpressionTimezone); it is a second opinion
on every UTC case it does support.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from aws_croniter import AwsCroniter  # type: ignore[import-untyped]

from scheduler_api.domain.expressions.parse import parse_cron, parse_timezone
from scheduler_api.domain.fires import fires_after

AFTER = datetime(2027, 12, 31, 23, 0, tzinfo=UTC)  # a Friday, before a leap year
UTC_ZONE = parse_timezone("UTC")

# Each AWS documentation example with its first fires after AFTER, worked out by hand.
DOC_EXAMPLES = {
    "0 10 * * ? *": ["2028-01-01T10:00", "2028-01-02T10:00"],  # 10:00 every day
    "15 12 * * ? *": ["2028-01-01T12:15", "2028-01-02T12:15"],  # 12:15 every day
    "0 18 ? * MON-FRI *": ["2028-01-03T18:00", "2028-01-04T18:00"],  # 18:00 weekdays
    "0 8 1 * ? *": ["2028-01-01T08:00", "2028-02-01T08:00"],  # 08:00 on the 1st
    "0/15 * * * ? *": ["2027-12-31T23:15", "2027-12-31T23:30"],  # every 15 minutes
    "0/10 * ? * MON-FRI *": ["2027-12-31T23:10", "2027-12-31T23:20"],  # 10 min, weekdays
    "0/5 8-17 ? * MON-FRI *": ["2028-01-03T08:00", "2028-01-03T08:05"],  # business hours
    "0 9 ? * 2#1 *": ["2028-01-03T09:00", "2028-02-07T09:00"],  # first Monday, 09:00
}

ORACLE_CASES = [
    *DOC_EXAMPLES,
    "0 0 L * ? *",
    "0 0 15W * ? *",
    "0 0 1W * ? *",
    "0 0 ? * 6L *",
    "30 6 ? * 1,7 *",
    "0 0 29 2 ? *",
    "0 12 ? JAN,JUL 3#3 2028-2030",
    "5/20 1-23/6 10-20 * ? *",
]


def fires(expression: str, count: int) -> list[datetime]:
    return fires_after(parse_cron(expression), zone=UTC_ZONE, after=AFTER, count=count)


@pytest.mark.parametrize(("expression", "expected"), DOC_EXAMPLES.items())
def test_aws_documentation_examples(expression: str, expected: list[str]) -> None:
    assert [t.strftime("%Y-%m-%dT%H:%M") for t in fires(expression, 2)] == expected


def test_leap_day_fires_only_in_leap_years() -> None:
    assert [t.year for t in fires("0 0 29 2 ? *", 3)] == [2028, 2032, 2036]
    assert [t.day for t in fires("0 0 L 2 ? 2028-2031", 4)] == [29, 28, 28, 28]


@pytest.mark.parametrize("expression", ORACLE_CASES)
def test_agrees_with_aws_croniter(expression: str) -> None:
    # The oracle pads with None past the fires it can find (a bounded year range).
    oracle = [t for t in AwsCroniter(expression).get_next(AFTER, n=25) if t is not None]
    assert len(oracle) >= 3
    expected = [t.replace(tzinfo=UTC) if t.tzinfo is None else t for t in oracle]
    assert fires(expression, len(expected)) == expected
