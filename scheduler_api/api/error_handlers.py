"""One place that turns project exceptions into HTTP responses.

Bodies carry a message written for the client and the request id, never exception text
from boto3 or elsewhere: that goes to the log line with the same request id.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from scheduler_api.api.validation_messages import readable_message
from scheduler_api.domain.errors import (
    BackendFailureError,
    BackendUnavailableError,
    ExpressionError,
    IndexUnavailableError,
    PayloadTooLargeError,
    PreconditionFailedError,
    RequestValidationFailedError,
    ScheduleConflictError,
    ScheduleNotFoundError,
    ScheduleStateConflictError,
)
from scheduler_api.domain.names import InvalidScheduleArnError
from scheduler_api.observability.logging import request_id_var

RETRY_AFTER_SECONDS = 2
ExceptionHandler = Callable[[Request, Exception], Awaitable[JSONResponse]]


def error_response(
    status: int, detail: Any, headers: Mapping[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body = {"detail": detail, "request_id": request_id_var.get(), **extra}
    return JSONResponse(body, status_code=status, headers=headers)


def _field_error(location: str, field: str, message: str) -> list[dict[str, Any]]:
    return [{"type": "value_error", "loc": [location, field], "msg": message}]


async def _not_found(_: Request, _exc: Exception) -> JSONResponse:
    return error_response(404, "Schedule not found")


async def _conflict(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ScheduleConflictError)
    return error_response(409, str(exc), existing_schedule_arn=exc.existing_arn)


async def _precondition_failed(_: Request, exc: Exception) -> JSONResponse:
    return error_response(412, str(exc))


async def _state_conflict(_: Request, exc: Exception) -> JSONResponse:
    return error_response(409, str(exc))


async def _no_index(_: Request, exc: Exception) -> JSONResponse:
    return error_response(501, str(exc))


async def _bad_arn(_: Request, exc: Exception) -> JSONResponse:
    return error_response(400, f"Not a schedule ARN: {exc}")


async def _invalid_request(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationFailedError)
    return error_response(422, _field_error(exc.location, exc.field, str(exc)))


async def _invalid_expression(_: Request, exc: Exception) -> JSONResponse:
    return error_response(422, _field_error("body", "expression", str(exc)))


async def _too_large(_: Request, exc: Exception) -> JSONResponse:
    return error_response(413, str(exc))


async def _unavailable(_: Request, exc: Exception) -> JSONResponse:
    return error_response(
        503, f"{exc}; retry later", headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
    )


async def _backend_failure(_: Request, exc: Exception) -> JSONResponse:
    return error_response(502, str(exc))


async def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"type": error["type"], "loc": list(error["loc"]), "msg": readable_message(error)}
        for error in exc.errors()
    ]
    return error_response(422, errors)


async def _http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return error_response(exc.status_code, exc.detail, headers=exc.headers)


# Our domain errors and their answers: installed app-wide by our own app, and answered by
# api.routing.SchedulerRoute on every scheduler route, so an app that embeds the router
# gets the same answers without handlers of ours on it.
DOMAIN_ERROR_HANDLERS: dict[type[Exception], ExceptionHandler] = {
    ScheduleNotFoundError: _not_found,
    ScheduleConflictError: _conflict,
    PreconditionFailedError: _precondition_failed,
    IndexUnavailableError: _no_index,
    ScheduleStateConflictError: _state_conflict,
    InvalidScheduleArnError: _bad_arn,
    RequestValidationFailedError: _invalid_request,
    ExpressionError: _invalid_expression,
    PayloadTooLargeError: _too_large,
    BackendUnavailableError: _unavailable,
    BackendFailureError: _backend_failure,
}


def domain_error_handler(exc: Exception) -> ExceptionHandler | None:
    """The handler for `exc`, by its class or the nearest base (as Starlette looks up)."""
    for cls in type(exc).__mro__:
        handler = DOMAIN_ERROR_HANDLERS.get(cls)
        if handler is not None:
            return handler
    return None


def install_error_handlers(app: FastAPI) -> None:
    """Our own app: the domain errors, plus FastAPI's 422 and HTTPException in our shape
    (with the request id). An embedding host keeps its own for the last two."""
    for error, handler in DOMAIN_ERROR_HANDLERS.items():
        app.add_exception_handler(error, handler)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    # Anything else is answered by observability.RequestIdMiddleware, inside the request id.
