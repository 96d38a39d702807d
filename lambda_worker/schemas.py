"""The seed's callback request and response models."""

from typing import Any

from pydantic import BaseModel, Field


class TaskCallbackRequest(BaseModel):
    task_id: str = Field(min_length=1, max_length=128)
    user_id: int
    action: str = Field(min_length=1, max_length=128)
    data: dict[str, Any] = Field(default_factory=dict)


class TaskCallbackResponse(BaseModel):
    success: bool
    message: str
    task_id: str
    result: dict[str, Any] | None = None
