"""An expression's next fire times before anything is scheduled (GET /scheduler/preview):
refused for the same reasons POST would refuse it, each naming its query parameter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from scheduler_api.domain.errors import ExpressionError, RequestValidationFailedError
from scheduler_api.domain.expressions.parse import (
    AtExpression,
    RateExpression,
    ScheduleExpression,
    check_date_range,
    check_rate_interval,
    check_timezone,
    local_to_utc,
    parse_expression,
    skipped_local_time,
)
from scheduler_api.domain.fires import fires_from


@dataclass(frozen=True)
class Preview:
    after: datetime  # the moment the schedule is taken to be created (aware)
    next_run_times: list[datetime]


def preview_fires(
    expression: str, timezone: str, after: datetime | None, count: int, now: datetime
) -> Preview:
    """The fire times (UTC) of a schedule created at `after` (default: now): a rate()
    fires at once. One that would never fire is refused, saying why, as POST says it."""
    try:
        zone = check_timezone(timezone)
    except ExpressionError as exc:
        raise RequestValidationFailedError("timezone", str(exc), "query") from exc
    try:
        parsed = parse_expression(expression)
        _check_computable(parsed)
    except ExpressionError as exc:
        raise RequestValidationFailedError("expression", str(exc), "query") from exc
    if after is not None:
        try:
            check_date_range(after)
        except ExpressionError as exc:
            raise RequestValidationFailedError("after", str(exc), "query") from exc
    start = now if after is None else after
    if start.tzinfo is None:
        start = start.replace(tzinfo=zone)
    if isinstance(parsed, AtExpression) and local_to_utc(parsed.when, zone) is None:
        raise RequestValidationFailedError(
            "expression", skipped_local_time(parsed.when, timezone), "query"
        )
    times = fires_from(parsed, zone=zone, since=start, count=count)
    if not times:
        moment = start.isoformat()
        raise RequestValidationFailedError(
            "expression", f"{parsed.render()} never fires after {moment}", "query"
        )
    return Preview(after=start, next_run_times=times)


def _check_computable(parsed: ScheduleExpression) -> None:
    """What POST would refuse of an expression: an at() outside the years a request may
    give, a rate() longer than MAX_RATE_INTERVAL."""
    if isinstance(parsed, AtExpression):
        check_date_range(parsed.when)
    elif isinstance(parsed, RateExpression):
        check_rate_interval(parsed)
