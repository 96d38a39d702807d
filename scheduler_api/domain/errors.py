"""Project exceptions. Backends raise these; one exception handler maps them to HTTP."""

from __future__ import annotations


class SchedulerError(Exception):
    """Base class; its message is safe to show to a client."""


class ScheduleNotFoundError(SchedulerError):
    """No such schedule in this service's group, region and account."""


class ScheduleExistsError(SchedulerError):
    """CreateSchedule found a schedule of that name already."""


class ScheduleConflictError(SchedulerError):
    """The task_id is taken by a schedule created from a different request."""

    def __init__(self, existing_arn: str) -> None:
        super().__init__(f"task_id is already scheduled with a different request: {existing_arn}")
        self.existing_arn = existing_arn


class RequestValidationFailedError(SchedulerError):
    """A request that is well-formed but cannot be scheduled (e.g. a time in the past)."""

    def __init__(self, field: str, message: str, location: str = "body") -> None:
        super().__init__(message)
        self.field = field
        self.location = location


class BackendUnavailableError(SchedulerError):
    """Throttled, or the backend is down or unreachable: the client may retry later."""


class ScheduleBusyError(BackendUnavailableError):
    """One schedule kept being changed by others while a change was applied to it (or, on
    the AWS index, another writer is between its steps): a 503 for that change, but only
    that schedule is busy, so a bulk job counts it as failed and goes on."""


class BackendFailureError(SchedulerError):
    """The backend refused the call for a reason the client cannot fix by retrying."""


class PayloadTooLargeError(SchedulerError):
    """The request, or the Input it would make, is larger than allowed."""


class PreconditionFailedError(SchedulerError):
    """If-Match named an ETag the schedule no longer has: it changed since it was read."""


class RevisionConflictError(SchedulerError):
    """A conditional write found the schedule at another revision than the one it was
    computed from: someone changed it in between. AwsService reads it again and
    re-applies the change (or answers 412 when If-Match named the old version); it never
    reaches a client as such."""


class ScheduleStateConflictError(SchedulerError):
    """The request cannot apply to the schedule as it stands (the message says what to do)."""


class IndexUnavailableError(SchedulerError):
    """A filtered query where this backend keeps no index of schedules (AWS without
    SCHEDULE_TABLE); the message names what to set."""


class ExpressionError(ValueError):
    """An expression, time zone or date that AWS would refuse or that cannot fire.

    A ValueError, so pydantic validators turn it into a 422 naming the field.
    """
