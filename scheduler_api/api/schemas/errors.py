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
