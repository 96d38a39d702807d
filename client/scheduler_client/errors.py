"""The errors a call can raise, one class per answer a caller handles differently.

Every error body of the API is `{"detail": ..., "request_id": ...}`. An error keeps the
status, the server's `detail` when it is the API's own text, and the request id (the same
id is in the server's log line), never a body the API did not write: a proxy's HTML page
or a stack trace is reduced to its status.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FieldError:
    """One refused field of a 422: where (`loc`, e.g. ("body", "data", "key")) and why."""

    loc: tuple[str | int, ...]
    msg: str
    type: str


class SchedulerError(Exception):
    """Base of every error this client raises. `status` is None when no answer came."""

    def __init__(
        self, message: str, *, status: int | None = None, request_id: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.request_id = request_id


class TransportError(SchedulerError):
    """No answer: the server could not be reached, or did not answer within the timeout.
    Not retried (the server may have acted); a create may be repeated safely."""


class AuthenticationFailed(SchedulerError):
    """401: no bearer token, or one the server does not know (SCHEDULER_API_TOKENS)."""


class Forbidden(SchedulerError):
    """403: the server has no tokens configured and answers loopback clients only."""


class BadRequest(SchedulerError):
    """400: e.g. a string that is not a schedule ARN."""


class NotFound(SchedulerError):
    """404: no such schedule (or dead letter) in this service."""


class Conflict(SchedulerError):
    """409: the request cannot apply to the schedule as it stands (the message says why)."""


class ScheduleConflict(Conflict):
    """409 on create: the task_id is taken by a schedule created from a different request.
    (The same request repeated is not a conflict: it returns the existing schedule.)"""

    def __init__(self, message: str, *, existing_schedule_arn: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.existing_schedule_arn = existing_schedule_arn


class PreconditionFailed(SchedulerError):
    """412: `if_match` names an ETag the schedule no longer has; read it again."""


class PayloadTooLarge(SchedulerError):
    """413: the body is over 64 KB, or the schedule's Input would be over 256 KB."""


class ValidationFailed(SchedulerError):
    """422: the request was refused; `errors` names each field and why."""

    def __init__(self, message: str, *, errors: list[FieldError], **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.errors = errors


class NotSupported(SchedulerError):
    """501: this backend does not keep what was asked (e.g. a filter on AWS without
    SCHEDULE_TABLE, dead letters on AWS)."""


class BackendFailure(SchedulerError):
    """502: AWS refused the call for a reason retrying does not fix."""


class Unavailable(SchedulerError):
    """503 (or 429): throttled or unavailable, after the client's own retries.
    `retry_after` is the server's Retry-After, in seconds, when it sent one."""

    def __init__(self, message: str, *, retry_after: float | None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class RateLimited(Unavailable):
    """429: too many requests (from the API or a proxy in front of it)."""


class UnexpectedAnswer(SchedulerError):
    """A 2xx the client cannot read: not JSON (e.g. a proxy's HTML page) or not the shape
    the call's model expects. `status` is the answer's; the body is not kept (it is not the
    API's text)."""


class RepeatedPageToken(UnexpectedAnswer):
    """`find` was handed a next_token it had already followed: a server paging in a
    circle. Raised rather than fetching the same pages forever."""


_BY_STATUS: dict[int, type[SchedulerError]] = {
    400: BadRequest,
    401: AuthenticationFailed,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    412: PreconditionFailed,
    413: PayloadTooLarge,
    501: NotSupported,
    502: BackendFailure,
}


def error_for(status: int, body: Any, retry_after: float | None) -> SchedulerError:
    """The error a non-2xx answer means. `body` is the decoded JSON, or None."""
    ours = isinstance(body, dict) and "request_id" in body and "detail" in body
    request_id = str(body["request_id"]) if ours else None
    detail = body["detail"] if ours else None
    message = detail if isinstance(detail, str) else f"HTTP {status}"
    common: dict[str, Any] = {"status": status, "request_id": request_id}
    if status == 422:
        errors = _field_errors(detail)
        text = "; ".join(f"{'.'.join(map(str, e.loc))}: {e.msg}" for e in errors) or message
        return ValidationFailed(text, errors=errors, **common)
    if status == 409 and ours and isinstance(body.get("existing_schedule_arn"), str):
        arn = body["existing_schedule_arn"]
        return ScheduleConflict(message, existing_schedule_arn=arn, **common)
    if status in (429, 503):
        kind = RateLimited if status == 429 else Unavailable
        return kind(message, retry_after=retry_after, **common)
    return _BY_STATUS.get(status, SchedulerError)(message, **common)


def _field_errors(detail: Any) -> list[FieldError]:
    if not isinstance(detail, list):
        return []
    found: list[FieldError] = []
    for item in detail:
        if isinstance(item, dict):
            loc = tuple(part for part in item.get("loc", []) if isinstance(part, str | int))
            found.append(FieldError(loc, str(item.get("msg", "")), str(item.get("type", ""))))
    return found
