"""The one place botocore errors become project exceptions (and so HTTP statuses):
throttling, 5xx and unreachable endpoints are BackendUnavailableError (503 with
Retry-After); anything else AWS refuses is BackendFailureError (502). AWS's own message
goes to the log only."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from scheduler_api.domain.errors import (
    BackendFailureError,
    BackendUnavailableError,
    RequestValidationFailedError,
    ScheduleExistsError,
    ScheduleNotFoundError,
)
from scheduler_api.observability.metrics import backend_call

logger = logging.getLogger(__name__)

_UNAVAILABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "ServiceQuotaExceededException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalServerException",
        "InternalServerError",
    }
)
_INVALID_INPUT_CODES = frozenset({"ValidationException", "InvalidToken"})
_NETWORK_ERRORS = (
    EndpointConnectionError,
    ConnectionClosedError,
    ConnectTimeoutError,
    ReadTimeoutError,
)


@contextmanager
def aws_errors(
    service: str,
    operation: str,
    *,
    missing_is_not_found: bool = True,
    client_field: str | None = None,
) -> Iterator[None]:
    """`client_field`: the query field to blame when AWS calls the input invalid. Each
    call is also timed and counted for /metrics, as `Service.Operation`."""
    with (
        backend_call(f"{service.replace(' ', '')}.{operation}"),
        _translated(
            service, operation, missing_is_not_found=missing_is_not_found, client_field=client_field
        ),
    ):
        yield


@contextmanager
def _translated(
    service: str, operation: str, *, missing_is_not_found: bool, client_field: str | None
) -> Iterator[None]:
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = error.get("Code", "Unknown")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        logger.warning("%s %s failed: %s: %s", service, operation, code, error.get("Message", ""))
        if client_field and code in _INVALID_INPUT_CODES:
            raise RequestValidationFailedError(
                client_field, f"invalid {client_field}", "query"
            ) from exc
        if code == "ResourceNotFoundException" and missing_is_not_found:
            raise ScheduleNotFoundError("schedule not found") from exc
        if code == "ConflictException":
            raise ScheduleExistsError("a schedule with this name exists") from exc
        if code in _UNAVAILABLE_CODES or status >= 500:
            raise BackendUnavailableError(f"{service} is unavailable") from exc
        raise BackendFailureError(f"{service} refused {operation} ({code})") from exc
    except _NETWORK_ERRORS as exc:
        logger.warning("%s %s failed: %s", service, operation, type(exc).__name__)
        raise BackendUnavailableError(f"{service} is unreachable") from exc
    except BotoCoreError as exc:
        logger.error("%s %s failed: %s", service, operation, type(exc).__name__)
        raise BackendFailureError(f"{service} call {operation} failed") from exc
