"""A change to a stored schedule, written only over the revision it was computed from.

Two changes at once (a PATCH and a pause) both land, one after the other, each computed
from what the other left; of two PATCHes naming one ETag (If-Match) exactly one is made,
the other is 412.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from scheduler_api.domain.clock import Clock
from scheduler_api.domain.errors import (
    PreconditionFailedError,
    RevisionConflictError,
    ScheduleBusyError,
)
from scheduler_api.domain.schedules import Schedule, ScheduleSpec
from scheduler_api.services.etags import etag_of, if_match_holds

# A change is computed again when another landed between its read and its write; this
# many times, with a growing pause between (at most about 0.7 s in all), then 503.
CHANGE_TRIES = 8

Change = Callable[[Schedule], ScheduleSpec | None]  # None: nothing to change


def apply_change(
    read: Callable[[], Schedule],
    write: Callable[[ScheduleSpec, str | None], object],
    change: Change,
    *,
    if_match: str | None,
    clock: Clock,
    pause: Callable[[float], None],
) -> tuple[Schedule, bool]:
    """Read the schedule, compute `change(it)` and `write(spec, revision read)`, which
    raises RevisionConflictError if the schedule is no longer at that revision: then read
    and compute again. If-Match is checked against each read. (schedule, changed)."""
    for attempt in range(CHANGE_TRIES):
        current = read()
        if not if_match_holds(if_match, etag_of(current)):
            raise PreconditionFailedError(
                "the schedule changed since that ETag was read: GET it again, then PATCH"
            )
        spec = change(current)
        if spec is None:
            return current, False
        try:
            write(spec, current.revision)
        except RevisionConflictError:
            # Full jitter, so that writers who collided do not collide again.
            pause(random.uniform(0, min(0.2, 0.005 * 2**attempt)))
            continue
        return Schedule(current.arn, spec, current.created_at, clock()), True
    if if_match is not None:  # still being changed: the version it names is not current
        raise PreconditionFailedError(
            "the schedule is being changed by another request: GET it again, then PATCH"
        )
    raise ScheduleBusyError(
        "the schedule kept changing while this request was applied to it; retry"
    )
