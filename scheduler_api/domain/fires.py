"""When a schedule fires: the one fire-time API, with AWS EventBridge Scheduler's rules.

Every question about fire times comes here: the fires of an expression (`fires_after`,
`fires_from`), of a stored spec (`first_fire`, `next_fire_after`, `next_fire_from`,
`fire_between`, `upcoming_fires`), what an index sorts by (`upcoming_fire`) and why a new
schedule would never fire (`never_fires_reason`). Each name says whether its bound is
included (`from`, "at or after") or not (`after`, "strictly after"); no caller shifts a
bound by a microsecond to turn one into the other. Parsing and validating an expression
stay in expressions/parse.py.

The rules (parse.py's docstring has them too):
- `at()` is read in the schedule's time zone; start_date and end_date do not bound it.
- `rate()` fires first at StartDate (or when the schedule is created), then every interval;
  time zones and DST do not move it.
- `cron()` is evaluated in the schedule's time zone. A local time skipped by a DST change
  does not fire; a local time that happens twice fires once (the first time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from scheduler_api.domain.expressions.cron import CronSchedule
from scheduler_api.domain.expressions.parse import (
    AtExpression,
    RateExpression,
    ScheduleExpression,
    local_to_utc,
    parse_expression,
    parse_timezone,
)
from scheduler_api.domain.schedules import ScheduleSpec

_LATEST = datetime.max.replace(tzinfo=UTC) - timedelta(days=2)  # room for any UTC offset


@dataclass(frozen=True)
class _Bound:
    """Where a list of fires starts: at `moment` (inclusive) or strictly after it."""

    moment: datetime
    inclusive: bool

    def admits(self, fire: datetime) -> bool:
        return fire >= self.moment if self.inclusive else fire > self.moment

    def tighter(self, other: _Bound) -> _Bound:
        """The bound that admits fewer fires (at one moment, the exclusive one)."""
        if self.moment != other.moment:
            return self if self.moment > other.moment else other
        return self if not self.inclusive else other


def fires_after(
    expression: ScheduleExpression,
    *,
    zone: ZoneInfo,
    after: datetime,
    count: int,
    anchor: datetime | None = None,
    start_date: datetime | None = None,
    end_date: datetime | None = None,
) -> list[datetime]:
    """Up to `count` UTC fire times strictly after `after`, inside [start_date, end_date].

    `anchor` is when a rate schedule was created; it starts there unless start_date is
    set (with neither, it counts from `after`, so its first fire is one interval later)."""
    return _fires(
        expression, zone, _Bound(after, inclusive=False), count, anchor, start_date, end_date
    )


def fires_from(
    expression: ScheduleExpression,
    *,
    zone: ZoneInfo,
    since: datetime,
    count: int,
    anchor: datetime | None = None,
    start_date: datetime | None = None,
    end_date: datetime | None = None,
) -> list[datetime]:
    """Up to `count` UTC fire times at `since` or later, inside [start_date, end_date].

    `anchor` is when a rate schedule was created (default: `since`, so a rate() without
    start_date fires at `since` at once, as on AWS when it is created)."""
    return _fires(
        expression, zone, _Bound(since, inclusive=True), count, anchor, start_date, end_date
    )


def first_fire(spec: ScheduleSpec, created_at: datetime) -> datetime | None:
    """The first fire of a schedule created (or updated) at `created_at`, that moment
    included; None if paused or if it never fires."""
    if spec.state == "DISABLED":
        return None
    return next_fire_from(spec, created_at, created_at)


def next_fire_after(spec: ScheduleSpec, after: datetime, created_at: datetime) -> datetime | None:
    """The spec's first fire strictly after `after` (its state is not asked)."""
    return _first(_spec_fires(spec, _Bound(after, inclusive=False), created_at, count=1))


def next_fire_from(spec: ScheduleSpec, since: datetime, created_at: datetime) -> datetime | None:
    """The spec's first fire at `since` or later (its state is not asked)."""
    return _first(_spec_fires(spec, _Bound(since, inclusive=True), created_at, count=1))


def fire_between(
    spec: ScheduleSpec, *, after: datetime, until: datetime, created_at: datetime
) -> datetime | None:
    """The spec's first fire strictly after `after` and at `until` or before; None if none."""
    fire = next_fire_after(spec, after, created_at)
    return fire if fire is not None and fire <= until else None


def upcoming_fires(
    spec: ScheduleSpec, *, now: datetime, created_at: datetime | None, count: int
) -> list[datetime]:
    """The next `count` fires from `now`, now included: a rate() schedule created this
    moment fires at once, and its first fire is listed (its state is not asked)."""
    return _spec_fires(spec, _Bound(now, inclusive=True), created_at, count=count)


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
    return _first(
        fires_from(
            parsed,
            zone=zone,
            since=now,
            count=1,
            anchor=anchor,
            start_date=start_date,
            end_date=end_date,
        )
    )


def never_fires_reason(
    expression: ScheduleExpression,
    *,
    zone: ZoneInfo,
    created: datetime,
    start_date: datetime | None = None,
    end_date: datetime | None = None,
) -> tuple[str, str] | None:
    """(the field to blame, why) when a schedule created now would never fire; else None."""

    def first(until: datetime | None) -> list[datetime]:
        return fires_from(
            expression, zone=zone, since=created, count=1, start_date=start_date, end_date=until
        )

    if first(end_date):
        return None
    rendered = expression.render()
    unbounded = first(None)
    if end_date is not None and unbounded:
        when = unbounded[0].strftime("%Y-%m-%dT%H:%M:%SZ")
        return "end_date", f"{rendered} never fires: its first fire ({when}) is after end_date"
    return "expression", f"{rendered} never fires: no time after now matches it"


def _first(times: list[datetime]) -> datetime | None:
    return times[0] if times else None


def _spec_fires(
    spec: ScheduleSpec, bound: _Bound, created_at: datetime | None, *, count: int
) -> list[datetime]:
    return _fires(
        parse_expression(spec.expression),
        parse_timezone(spec.timezone),
        bound,
        count,
        created_at,
        spec.start_date,
        spec.end_date,
    )


def _fires(
    expression: ScheduleExpression,
    zone: ZoneInfo,
    bound: _Bound,
    count: int,
    anchor: datetime | None,
    start_date: datetime | None,
    end_date: datetime | None,
) -> list[datetime]:
    if isinstance(expression, AtExpression):
        fire = local_to_utc(expression.when, zone)
        return [fire] if fire is not None and bound.admits(fire) and count > 0 else []
    if start_date is not None:
        bound = bound.tighter(_Bound(start_date, inclusive=True))
    if isinstance(expression, RateExpression):
        first = start_date or anchor or bound.moment
        times = _rate_times(expression, first, bound, count)
    else:
        times = _cron_times(expression.schedule, zone, bound, count)
    return [t for t in times if end_date is None or t <= end_date]


def _rate_times(rate: RateExpression, first: datetime, bound: _Bound, count: int) -> list[datetime]:
    interval = rate.interval
    if bound.admits(first):
        skipped = 0
    elif bound.inclusive:  # the intervals it takes to reach the bound, rounded up
        skipped = -((first - bound.moment) // interval)
    else:  # the intervals it takes to pass the bound
        skipped = (bound.moment - first) // interval + 1
    if skipped * interval > _LATEST - first:
        return []
    start = first + skipped * interval
    # Fires past datetime's range are never listed (a rate made elsewhere, longer than
    # MAX_RATE_INTERVAL): none of them is due within this side of year 9999.
    representable = (_LATEST - start) // interval + 1
    return [start + k * interval for k in range(min(count, representable))]


def _cron_times(cron: CronSchedule, zone: ZoneInfo, bound: _Bound, count: int) -> list[datetime]:
    # Start a few hours early in local time so DST shifts cannot hide a candidate.
    local_start = (bound.moment.astimezone(zone) - timedelta(hours=3)).replace(tzinfo=None)
    times: list[datetime] = []
    for local in cron.local_times_from(local_start):
        if len(times) >= count:
            break
        fire = local_to_utc(local, zone)
        if fire is not None and bound.admits(fire):
            times.append(fire)
    return times
