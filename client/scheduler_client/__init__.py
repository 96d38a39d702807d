"""A typed client of the scheduler's HTTP API: SchedulerClient and AsyncSchedulerClient,
the same methods over httpx, with typed results (models) and errors (errors). It depends
on httpx and pydantic only, never on the server's code."""

from scheduler_client.async_client import AsyncSchedulerClient
from scheduler_client.errors import (
    AuthenticationFailed,
    BackendFailure,
    BadRequest,
    Conflict,
    FieldError,
    Forbidden,
    NotFound,
    NotSupported,
    PayloadTooLarge,
    PreconditionFailed,
    RateLimited,
    RepeatedPageToken,
    ScheduleConflict,
    SchedulerError,
    TransportError,
    Unavailable,
    UnexpectedAnswer,
    ValidationFailed,
)
from scheduler_client.retries import NEVER_RETRY, RetryPolicy
from scheduler_client.sync_client import SchedulerClient

__all__ = [
    "NEVER_RETRY",
    "AsyncSchedulerClient",
    "AuthenticationFailed",
    "BackendFailure",
    "BadRequest",
    "Conflict",
    "FieldError",
    "Forbidden",
    "NotFound",
    "NotSupported",
    "PayloadTooLarge",
    "PreconditionFailed",
    "RateLimited",
    "RepeatedPageToken",
    "RetryPolicy",
    "ScheduleConflict",
    "SchedulerClient",
    "SchedulerError",
    "TransportError",
    "Unavailable",
    "UnexpectedAnswer",
    "ValidationFailed",
]
