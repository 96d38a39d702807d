"""Property tests: the parser refuses anything it cannot read with one error class, and
every expression it accepts yields strictly increasing fire times."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduler_api.domain.errors import ExpressionError
from scheduler_api.domain.expressions.parse import (
    parse_cron,
    parse_expression,
    parse_rate,
    parse_timezone,
)
from scheduler_api.domain.fires import fires_after

ZONES = ["UTC", "America/New_York", "Europe/London", "Asia/Seoul", "Australia/Lord_Howe"]
CRON_ALPHABET = "0123456789*?,-/#LW JANFEBMONTUSATHUWEDSUNRI()cron"


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=60))
def test_arbitrary_text_is_accepted_or_refused_with_expression_error(text: str) -> None:
    for parse in (parse_expression, parse_cron, parse_rate, parse_timezone):
        with contextlib.suppress(ExpressionError):
            parse(text)


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=CRON_ALPHABET, max_size=40))
def test_cron_shaped_text_is_accepted_or_refused_with_expression_error(text: str) -> None:
    with contextlib.suppress(ExpressionError):
        parse_cron(text)


def _field(low: int, high: int) -> st.SearchStrategy[str]:
    number = st.integers(low, high).map(str)
    span = st.tuples(st.integers(low, high), st.integers(low, high)).map(
        lambda ab: f"{min(ab)}-{max(ab)}"
    )
    step = st.tuples(st.sampled_from(["*", str(low)]), st.integers(1, high - low + 1)).map(
        lambda sn: f"{sn[0]}/{sn[1]}"
    )
    item = st.one_of(st.just("*"), number, span, step)
    return st.lists(item, min_size=1, max_size=3).map(",".join)


day_of_month = st.one_of(
    _field(1, 31), st.just("L"), st.just("LW"), st.integers(1, 31).map(lambda d: f"{d}W")
)
day_of_week = st.one_of(
    _field(1, 7),
    st.sampled_from(["MON-FRI", "SUN", "SAT,SUN", "L", "6L"]),
    st.tuples(st.integers(1, 7), st.integers(1, 5)).map(lambda dn: f"{dn[0]}#{dn[1]}"),
)


@st.composite
def crons(draw: st.DrawFn) -> str:
    minutes, hours, months = draw(_field(0, 59)), draw(_field(0, 23)), draw(_field(1, 12))
    if draw(st.booleans()):
        days = f"{draw(day_of_month)} {months} ?"
    else:
        days = f"? {months} {draw(day_of_week)}"
    year = draw(st.one_of(st.just("*"), _field(2026, 2199)))
    return f"cron({minutes} {hours} {days} {year})"


AFTER = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2060, 1, 1), timezones=st.just(UTC)
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(crons(), st.sampled_from(ZONES), AFTER)
def test_accepted_crons_fire_at_increasing_times_after_the_start(
    expression: str, zone: str, after: datetime
) -> None:
    times = fires_after(
        parse_expression(expression), zone=parse_timezone(zone), after=after, count=8
    )
    assert all(t > after for t in times)
    assert all(a < b for a, b in pairwise(times))
    assert all(t.second == 0 and t.microsecond == 0 for t in times)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 10_000),
    st.sampled_from(["minute", "minutes", "hour", "hours", "day", "days"]),
    AFTER,
)
def test_accepted_rates_fire_at_increasing_times(value: int, unit: str, after: datetime) -> None:
    rate = parse_rate(f"rate({value} {unit})")
    times = fires_after(rate, zone=parse_timezone("UTC"), after=after, count=5, anchor=after)
    assert all(b - a == rate.interval for a, b in pairwise(times))
    assert times[0] == after + rate.interval
    assert rate.interval >= timedelta(minutes=1)
