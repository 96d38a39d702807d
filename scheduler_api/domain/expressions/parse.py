"""`at()`, `rate()` and `cron()` expressions: parse, validate and render for AWS.

When an expression fires is domain/fires.py's (the one fire-time API). What this module
fixes of it: `at()` carries no offset and is read in the schedule's time zone
(`local_to_utc`); a `rate()` is a whole number of minutes, hours or days; a `cron()` has
AWS's six fields (expressions/cron.py).
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
