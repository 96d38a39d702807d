"""A PATCH as the POST it amounts to: the stored task and timing, with the given fields
replacing theirs. The merged request then goes through POST's own validation, so a PATCH
can never store what a POST would refuse."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from scheduler_api.domain.errors import RequestValidationFailedError
from scheduler_api.domain.expressions.parse import AtExpression, RateExpression, parse_expression
from scheduler_api.domain.schedules import Schedule
from scheduler_api.services.requests import SchedulePatchRequest, ScheduleTaskRequest, TaskPayload

# AWS refuses a StartDate more than 5 minutes in the past, on UpdateSchedule too.
START_DATE_GRACE = timedelta(minutes=5)
_CLEARED: dict[str, Any] = {
    "data": {},
    "labels": {},
    "overlap": "allow",
    "max_lateness_seconds": None,
}


def merged_request(
    schedule: Schedule, task: TaskPayload, patch: SchedulePatchRequest, now: datetime
) -> dict[str, Any]:
    """The POST body that describes the schedule after the PATCH."""
    spec, given = schedule.spec, patch.model_fields_set
    merged: dict[str, Any] = task.model_dump()
    for name in ("action", "data", "labels", "overlap", "max_lateness_seconds"):
        if name in given:
            value = getattr(patch, name)
            merged[name] = _CLEARED.get(name) if value is None and name != "action" else value
    merged["timezone"] = patch.timezone if patch.timezone is not None else spec.timezone
    window = patch.flexible_window_minutes
    merged["flexible_window_minutes"] = (
        window if "flexible_window_minutes" in given else spec.flexible_window_minutes
    )
    timing = patch.timing or _stored_timing(spec.expression)
    merged.update(timing)
    if "cron" in timing or "rate" in timing:
        start = kept_start_date(spec.start_date, now)
        merged["start_date"] = patch.start_date if "start_date" in given else start
        merged["end_date"] = patch.end_date if "end_date" in given else spec.end_date
    else:  # one-time: POST's validation refuses dates given here
        merged["start_date"], merged["end_date"] = patch.start_date, patch.end_date
    return merged


def validated_request(merged: dict[str, Any]) -> ScheduleTaskRequest:
    """A merged PATCH validated as a POST body; the first error names its field."""
    try:
        return ScheduleTaskRequest.model_validate(merged)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = str(error["loc"][0]) if error["loc"] else "timing"
        raise RequestValidationFailedError(
            field, str(error["msg"]).removeprefix("Value error, ")
        ) from None


def kept_start_date(start: datetime | None, now: datetime) -> datetime | None:
    """A stored StartDate to write back on update: dropped once it has passed, as AWS
    refuses it again then (and it bounds nothing any more)."""
    return None if start is not None and start < now - START_DATE_GRACE else start


def _stored_timing(expression: str) -> dict[str, Any]:
    parsed = parse_expression(expression)
    if isinstance(parsed, AtExpression):
        return {"run_at": parsed.when}  # naive: read in the (possibly new) time zone
    key = "rate" if isinstance(parsed, RateExpression) else "cron"
    return {key: expression}
