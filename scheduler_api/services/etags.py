"""ETags for optimistic concurrency: a hash of everything stored for a schedule, the same
on both backends, so a PATCH can say "only if nobody changed it since I read it"."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from scheduler_api.domain.schedules import Schedule


def _epoch(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def etag_of(schedule: Schedule) -> str:
    """Changes whenever the stored schedule changes; normalised (dates as epoch seconds),
    so what CreateSchedule was sent and what GetSchedule returns hash alike."""
    spec, target = schedule.spec, schedule.spec.target
    stored = {
        "expression": spec.expression,
        "timezone": spec.timezone,
        "state": spec.state,
        "description": spec.description,
        "start": _epoch(spec.start_date),
        "end": _epoch(spec.end_date),
        "window": spec.flexible_window_minutes,
        "after": spec.action_after_completion,
        "target": [
            target.arn,
            target.role_arn,
            target.input,
            target.maximum_retry_attempts,
            target.maximum_event_age_seconds,
            target.dead_letter_arn,
        ],
    }
    digest = hashlib.sha256(json.dumps(stored, sort_keys=True).encode()).hexdigest()
    return f'"{digest[:24]}"'


def if_match_holds(if_match: str | None, etag: str) -> bool:
    """RFC 9110 If-Match: absent or `*` always holds; otherwise one of the listed tags
    must be the current one (strong comparison; a weak tag never matches)."""
    if if_match is None or if_match.strip() == "*":
        return True
    return any(tag.strip() == etag for tag in if_match.split(","))
