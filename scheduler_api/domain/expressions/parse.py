"""`at()`, `rate()` and `cron()` expressions: parse, render for AWS, and list fire times.

Fire times follow the AWS EventBridge Scheduler rules:
- `at()` carries no offset; it is read in the schedule's time zone.
- `rate()` fires first at StartDate (or when the schedule is created), then every interval;
  time zones and DST do not move it.
- `cron()` is evaluated in the schedule's time zone. A local time skipped by a DST change
  does not fire; a local time that happens twice fires once (the first time).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from scheduler_api.domain.errors import ExpressionError
from scheduler_api.domain.expressions.cron import CronSchedule

_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$", re.ASCII)
_RATE = re.compile(r"^(\d{1,9})\s+(minute|minutes|hour|hours|day|days)$", re.ASCII)
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
MAX_RATE_VALUE = 1_000_000
# The years AWS documents for cron's year field. Every date a request gives (run_at,
# start_date, end_date, preview's after) must lie in them: then no fire computed from it,
# in any time zone, at any allowed rate, can leave datetime's range (year 9999).
FIRST_YEAR, LAST_YEAR = 1970, 2199
# 100 years: even preview's 50 fires of the longest rate from the last year stay in range.
MAX_RATE_INTERVAL = timedelta(days=36_525)
_LATEST = datetime.max.replace(tzinfo=UTC) - timedelta(days=2)  # room for any UTC offset


@dataclass(frozen=True)
class AtExpression:
    """A one-time schedule: a naive local time, read in the schedule's time zone."""

    when: datetime

    def render(self) -> str:
        return f"at({self.when.strftime('%Y-%m-%dT%H:%M:%S')})"


@dataclass(frozen=True)
class RateExpression:
    value: int
    unit: str  # singular: minute, hour or day

    @property
    def interval(self) -> timedelta:
        return timedelta(seconds=self.value * _UNIT_SECONDS[self.unit])

    def render(self) -> str:
        return f"rate({self.value} {self.unit}{'' if self.value == 1 else 's'})"


@dataclass(frozen=True)
class CronExpression:
    schedule: CronSchedule

    def render(self) -> str:
        return f"cron({self.schedule.text})"


ScheduleExpression = AtExpression | RateExpression | CronExpression


def _unwrap(text: str, keyword: str) -> str:
    stripped = text.strip()
    if stripped.startswith(f"{keyword}(") and stripped.endswith(")"):
        return stripped[len(keyword) + 1 : -1].strip()
    return stripped


def parse_cron(text: str) -> CronExpression:
    """`cron(0 9 * * ? *)` or the bare six fields."""
    return CronExpression(CronSchedule.parse(_unwrap(text, "cron")))


def parse_rate(text: str) -> RateExpression:
    """`rate(5 minutes)` or `5 minutes`; a value of 1 may take either unit form."""
    match = _RATE.match(_unwrap(text, "rate"))
    if not match:
        raise ExpressionError(
            "rate must be 'rate(<value> <unit>)' with a positive whole value and a unit of "
            "minute(s), hour(s) or day(s)"
        )
    value = int(match.group(1))
    if not 1 <= value <= MAX_RATE_VALUE:
        raise ExpressionError(f"rate value must be between 1 and {MAX_RATE_VALUE}")
    return RateExpression(value, match.group(2).removesuffix("s"))


def parse_at(text: str) -> AtExpression:
    match = _AT.match(text.strip())
    if not match:
        raise ExpressionError("at must be 'at(yyyy-mm-ddThh:mm:ss)'")
    try:
        return AtExpression(datetime.fromisoformat(match.group(1)))
    except ValueError as exc:
        raise ExpressionError(f"at: {match.group(1)!r} is not a valid date and time") from exc


def parse_expression(text: str) -> ScheduleExpression:
    """Any of the three forms; the keyword and its parentheses are required here."""
    stripped = text.strip()
    if stripped.startswith("at("):
        return parse_at(stripped)
    if stripped.startswith("rate("):
        return parse_rate(stripped)
    if stripped.startswith("cron("):
        return parse_cron(stripped)
    raise ExpressionError("expression must be at(...), rate(...) or cron(...)")


def parse_timezone(name: str) -> ZoneInfo:
    """The zone of a stored schedule (lenient: one stored before check_timezone existed
    still loads)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ExpressionError(f"{name!r} is not an IANA time zone name") from exc


@cache
def timezone_names() -> frozenset[str]:
    """The IANA names a request may give: the zones of the tzdata package this project
    pins, without Factory (a placeholder, not a place). The system's zoneinfo directory is
    not asked: it also holds localtime, posixrules, posix/* and right/* (leap-second
    clocks), which are files, not IANA zone names, and which AWS refuses."""
    listed = resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8")
    return frozenset(listed.split()) - {"Factory"}


def check_timezone(name: str) -> ZoneInfo:
    """A time zone a request names: an IANA zone name (see timezone_names)."""
    if name not in timezone_names():
        raise ExpressionError(
            f"{name!r} is not an IANA time zone name (e.g. UTC, Europe/Paris, Asia/Seoul)"
        )
    return parse_timezone(name)


def check_rate_interval(rate: RateExpression) -> None:
    if rate.interval > MAX_RATE_INTERVAL:
        raise ExpressionError(
            f"rate must be at most {MAX_RATE_INTERVAL.days} days (100 years) apart"
        )


def check_date_range(value: datetime) -> None:
    """A date a request gives, as written (before any time zone shifts it)."""
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ExpressionError(f"dates must lie in the years {FIRST_YEAR} to {LAST_YEAR}")


def skipped_local_time(local: datetime, timezone: str) -> str:
    """Why an at() time inside a DST gap is refused (the same words at POST and preview)."""
    return f"{local.isoformat()} does not exist in {timezone}: a DST change skips it"


def first_fires(
    expression: ScheduleExpression,
    *,
    zone: ZoneInfo,
    created: datetime,
    count: int,
    start_date: datetime | None = None,
    end_date: datetime | None = None,
) -> list[datetime]:
    """The first `count` fires of a schedule created at `created`, that moment included
    (a rate() without start_date fires at once, as on AWS)."""
    return next_fire_times(
        expression,
        zone=zone,
        after=created - timedelta(microseconds=1),
        count=count,
        anchor=created,
        start_date=start_date,
        end_date=end_date,
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
        return first_fires(
            expression, zone=zone, created=created, count=1, start_date=start_date, end_date=until
        )

    if first(end_date):
        return None
    rendered = expression.render()
    unbounded = first(None)
    if end_date is not None and unbounded:
        when = unbounded[0].strftime("%Y-%m-%dT%H:%M:%SZ")
        return "end_date", f"{rendered} never fires: its first fire ({when}) is after end_date"
    return "expression", f"{rendered} never fires: no time after now matches it"


def local_to_utc(local: datetime, zone: ZoneInfo) -> datetime | None:
    """A naive local time in UTC; None when DST skips it. A repeated time maps to its first.
    None, too, for a time UTC cannot hold (at(9999-12-31T23:59:00) west of Greenwich, on a
    schedule made elsewhere: requests cannot give one)."""
    aware = local.replace(tzinfo=zone, fold=0)
    try:
        in_utc = aware.astimezone(UTC)
    except OverflowError:
        return None
    if in_utc.astimezone(zone).replace(tzinfo=None) != local:
        return None
    return in_utc


def next_fire_times(
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

    `anchor` is when a rate schedule was created; it starts there unless start_date is set.
    """
    if isinstance(expression, AtExpression):
        fire = local_to_utc(expression.when, zone)
        return [fire] if fire is not None and fire > after and count > 0 else []
    lower = max(after, start_date - timedelta(microseconds=1)) if start_date else after
    if isinstance(expression, RateExpression):
        times = _rate_times(expression, start_date or anchor or after, lower, count)
    else:
        times = _cron_times(expression.schedule, zone, lower, count)
    return [t for t in times if end_date is None or t <= end_date]


def _rate_times(
    rate: RateExpression, first: datetime, after: datetime, count: int
) -> list[datetime]:
    interval = rate.interval
    skipped = 0 if first > after else (after - first) // interval + 1
    if skipped * interval > _LATEST - first:
        return []
    start = first + skipped * interval
    # Fires past datetime's range are never listed (a rate made elsewhere, longer than
    # MAX_RATE_INTERVAL): none of them is due within this side of year 9999.
    representable = (_LATEST - start) // interval + 1
    return [start + k * interval for k in range(min(count, representable))]


def _cron_times(cron: CronSchedule, zone: ZoneInfo, after: datetime, count: int) -> list[datetime]:
    # Start a few hours early in local time so DST shifts cannot hide a candidate.
    local_start = (after.astimezone(zone) - timedelta(hours=3)).replace(tzinfo=None)
    times: list[datetime] = []
    for local in cron.local_times_from(local_start):
        if len(times) >= count:
            break
        fire = local_to_utc(local, zone)
        if fire is not None and fire > after:
            times.append(fire)
    return times
