"""The body of every error answer, and how a route documents an error status."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorResponse(BaseModel):
    detail: Any
    request_id: str


def error_doc(description: str) -> dict[str, Any]:
    """An error status as the OpenAPI schema documents it."""
    return {"model": ErrorResponse, "description": description}


# What most /scheduler routes can answer besides their own statuses.
AWS_ERRORS: dict[int | str, dict[str, Any]] = {
    422: error_doc("Invalid request (names the field)"),
    502: error_doc("AWS refused the call"),
    503: error_doc("AWS throttled or unavailable; see Retry-After"),
}
ARN_ERRORS: dict[int | str, dict[str, Any]] = {
    400: error_doc("Not a schedule ARN"),
    404: error_doc("No such schedule in this service's group"),
    **AWS_ERRORS,
}
