"""When a stored schedule fires next, with AWS's rules (see scheduling.expressions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scheduler_api.domain.expressions.parse import (
    AtExpression,
    RateExpression,
    local_to_utc,
    next_fire_times,
    parse_expression,
    parse_timezone,
)
from scheduler_api.domain.schedules import ScheduleSpec


def to_epoch(value: datetime) -> float:
    return value.timestamp()


def from_epoch(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def first_fire(spec: ScheduleSpec, created_at: datetime) -> datetime | None:
    """The first fire of a schedule created (or updated) at `created_at`; None if none."""
    if spec.state == "DISABLED":
        return None
    expression = parse_expression(spec.expression)
    if isinstance(expression, RateExpression) and spec.start_date is None:
        # AWS: a rate schedule without a StartDate starts invoking its target at once.
        in_range = spec.end_date is None or created_at <= spec.end_date
        return created_at if in_range else None
    return next_fire_after(spec, created_at - timedelta(microseconds=1), created_at)


def next_fire_after(spec: ScheduleSpec, after: datetime, created_at: datetime) -> datetime | None:
    times = next_fire_times(
        parse_expression(spec.expression),
        zone=parse_timezone(spec.timezone),
        after=after,
        count=1,
        anchor=created_at,
        start_date=spec.start_date,
        end_date=spec.end_date,
    )
    return times[0] if times else None


def upcoming_fire(
    expression: str,
    timezone: str,
    *,
    state: str,
    anchor: datetime,
    start_date: datetime | None,
    end_date: datetime | None,
    now: datetime,
) -> datetime | None:
    """What an index sorts a schedule by: its next fire from `now` (now included, so a
    rate() schedule created this moment is listed at once); None when paused or done.

    A one-time schedule keeps its at() time after it passes: EventBridge deletes it only
    once it has run, so the index looks for it there until it is gone."""
    if state == "DISABLED":
        return None
    parsed = parse_expression(expression)
    zone = parse_timezone(timezone)
    if isinstance(parsed, AtExpression):
        return local_to_utc(parsed.when, zone)
    times = next_fire_times(
        parsed,
        zone=zone,
        after=now - timedelta(microseconds=1),
        count=1,
        anchor=anchor,
        start_date=start_date,
        end_date=end_date,
    )
    return times[0] if times else None
