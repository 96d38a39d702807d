"""AWS EventBridge Scheduler cron expressions: parsing and the local times they match.

Written by hand on purpose: croniter and cronsim implement the Unix or Quartz dialects,
which differ from AWS's in ways that change when a task runs (AWS has six fields with a
year 1970-2199, numbers day-of-week 1-7 as SUN-SAT, requires `?` in exactly one day
field). pyawscron and aws-croniter read AWS's dialect but evaluate in UTC only (no
ScheduleExpressionTimezone, so no DST), and fail on `LW`; pyawscron also on `29 2`.
tests/domain/test_cron_reference.py checks this module against aws-croniter where it works.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

from scheduler_api.domain.errors import ExpressionError

MONTH_NAMES = {
    name: number
    for number, name in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"],
        start=1,
    )
}
DAY_NAMES = {
    name: number
    for number, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], start=1)
}
YEAR_MIN, YEAR_MAX = 1970, 2199

_NEAREST_WEEKDAY = re.compile(r"^(\d{1,2})W$", re.ASCII)
_NTH_WEEKDAY = re.compile(r"^(\w{1,3})#(\d)$", re.ASCII)
_LAST_WEEKDAY = re.compile(r"^(\w{1,3})L$", re.ASCII)


def aws_day_of_week(day: date) -> int:
    """AWS numbers the days 1 (SUN) to 7 (SAT); Python's weekday() is 0 (MON) to 6 (SUN)."""
    return (day.weekday() + 1) % 7 + 1


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: dict[str, int] | None = None

    def number(self, token: str) -> int:
        upper = token.upper()
        if self.names and upper in self.names:
            return self.names[upper]
        if not (token.isascii() and token.isdigit()):
            raise ExpressionError(f"{self.name}: {token!r} is not a valid value")
        value = int(token)
        if not self.low <= value <= self.high:
            raise ExpressionError(f"{self.name}: {value} is outside {self.low}-{self.high}")
        return value

    def values(self, text: str) -> frozenset[int]:
        """Parse `*`, `a`, `a-b`, `*/n`, `a/n`, `a-b/n` and comma lists of them."""
        result: set[int] = set()
        for item in text.split(","):
            result |= self._item(item)
        return frozenset(result)

    def _item(self, item: str) -> set[int]:
        base, _, step_text = item.partition("/")
        step = 1
        if step_text:
            if not (step_text.isascii() and step_text.isdigit()) or int(step_text) == 0:
                raise ExpressionError(f"{self.name}: step {step_text!r} must be a positive integer")
            step = int(step_text)
        if base == "*":
            start, end = self.low, self.high
        elif "-" in base:
            start_text, _, end_text = base.partition("-")
            start, end = self.number(start_text), self.number(end_text)
            if start > end:
                raise ExpressionError(f"{self.name}: range {base!r} runs backwards")
        else:
            start = self.number(base)
            end = self.high if step_text else start
        return set(range(start, end + 1, step))


MINUTES = _Field("minutes", 0, 59)
HOURS = _Field("hours", 0, 23)
DAYS_OF_MONTH = _Field("day-of-month", 1, 31)
MONTHS = _Field("month", 1, 12, MONTH_NAMES)
DAYS_OF_WEEK = _Field("day-of-week", 1, 7, DAY_NAMES)
YEARS = _Field("year", YEAR_MIN, YEAR_MAX)


@dataclass(frozen=True)
class DayOfMonthRule:
    """Day-of-month: plain days, `L` (last day), `LW` (last weekday), `nW` (nearest weekday)."""

    days: frozenset[int] = frozenset()
    last_day: bool = False
    last_weekday: bool = False
    nearest_weekdays: frozenset[int] = frozenset()

    @classmethod
    def parse(cls, text: str) -> DayOfMonthRule:
        days: set[int] = set()
        last_day = last_weekday = False
        nearest: set[int] = set()
        for item in text.split(","):
            upper = item.upper()
            if upper == "L":
                last_day = True
            elif upper == "LW":
                last_weekday = True
            elif match := _NEAREST_WEEKDAY.match(upper):
                nearest.add(DAYS_OF_MONTH.number(match.group(1)))
            else:
                days |= DAYS_OF_MONTH.values(item)
        return cls(frozenset(days), last_day, last_weekday, frozenset(nearest))

    def matching_days(self, year: int, month: int) -> set[int]:
        length = calendar.monthrange(year, month)[1]
        result = {day for day in self.days if day <= length}
        if self.last_day:
            result.add(length)
        if self.last_weekday:
            result.add(_nearest_weekday(year, month, length, length))
        for day in self.nearest_weekdays:
            if day <= length:
                result.add(_nearest_weekday(year, month, day, length))
        return result


def _nearest_weekday(year: int, month: int, day: int, length: int) -> int:
    """The weekday (MON-FRI) nearest to `day`, without leaving the month."""
    weekday = date(year, month, day).weekday()
    if weekday == 5:  # Saturday: Friday before, or Monday after on the 1st
        return day - 1 if day > 1 else day + 2
    if weekday == 6:  # Sunday: Monday after, or Friday before on the last day
        return day + 1 if day < length else day - 2
    return day


@dataclass(frozen=True)
class DayOfWeekRule:
    """Day-of-week: plain days, `L` (SAT), `nL` (last n-day of the month), `n#k` (k-th n-day)."""

    days: frozenset[int] = frozenset()
    last_in_month: frozenset[int] = frozenset()
    nth_in_month: frozenset[tuple[int, int]] = frozenset()

    @classmethod
    def parse(cls, text: str) -> DayOfWeekRule:
        days: set[int] = set()
        last: set[int] = set()
        nth: set[tuple[int, int]] = set()
        for item in text.split(","):
            upper = item.upper()
            if upper == "L":
                days.add(DAY_NAMES["SAT"])
            elif match := _NTH_WEEKDAY.match(upper):
                occurrence = int(match.group(2))
                if not 1 <= occurrence <= 5:
                    raise ExpressionError(f"day-of-week: {item!r} needs an occurrence from 1 to 5")
                nth.add((DAYS_OF_WEEK.number(match.group(1)), occurrence))
            elif match := _LAST_WEEKDAY.match(upper):
                last.add(DAYS_OF_WEEK.number(match.group(1)))
            else:
                days |= DAYS_OF_WEEK.values(item)
        return cls(frozenset(days), frozenset(last), frozenset(nth))

    def matching_days(self, year: int, month: int) -> set[int]:
        length = calendar.monthrange(year, month)[1]
        result: set[int] = set()
        for day in range(1, length + 1):
            weekday = aws_day_of_week(date(year, month, day))
            occurrence = (day - 1) // 7 + 1
            if (
                weekday in self.days
                or (weekday in self.last_in_month and day + 7 > length)
                or (weekday, occurrence) in self.nth_in_month
            ):
                result.add(day)
        return result


@dataclass(frozen=True)
class CronSchedule:
    """A parsed AWS cron expression; `text` is the six fields as given, normalised."""

    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    day_rule: DayOfMonthRule | DayOfWeekRule
    months: frozenset[int]
    years: frozenset[int]

    @classmethod
    def parse(cls, fields_text: str) -> CronSchedule:
        fields = fields_text.split()
        if len(fields) != 6:
            raise ExpressionError(
                "cron needs 6 fields (minutes hours day-of-month month day-of-week year), "
                f"got {len(fields)}"
            )
        minutes, hours, day_of_month, month, day_of_week, year = fields
        day_rule: DayOfMonthRule | DayOfWeekRule
        if (day_of_month == "?") == (day_of_week == "?"):
            raise ExpressionError("cron: exactly one of day-of-month and day-of-week must be '?'")
        if day_of_month == "?":
            day_rule = DayOfWeekRule.parse(day_of_week)
        else:
            day_rule = DayOfMonthRule.parse(day_of_month)
        return cls(
            text=" ".join(fields),
            minutes=MINUTES.values(minutes),
            hours=HOURS.values(hours),
            day_rule=day_rule,
            months=MONTHS.values(month),
            years=YEARS.values(year),
        )

    def local_times_from(self, start: datetime) -> Iterator[datetime]:
        """Every naive local time this expression matches at or after `start`, in order."""
        hours, minutes = sorted(self.hours), sorted(self.minutes)
        start_minute = start.replace(second=0, microsecond=0)
        for year in sorted(y for y in self.years if y >= start.year):
            for month in sorted(self.months):
                if (year, month) < (start.year, start.month):
                    continue
                for day in sorted(self.day_rule.matching_days(year, month)):
                    if date(year, month, day) < start.date():
                        continue
                    for hour in hours:
                        for minute in minutes:
                            candidate = datetime(year, month, day, hour, minute)
                            if candidate >= start_minute:
                                yield candidate
