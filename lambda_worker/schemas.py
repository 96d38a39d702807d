"""The seed's callback request and response models."""

from typing import Any

from pydantic import BaseModel, Field

from task_contract import ACTION_MAX_LENGTH, TASK_ID_MAX_LENGTH, Overlap


class TaskCallbackRequest(BaseModel):
    """What the worker accepts. The scheduler API refuses anything this would refuse: its
    TaskPayload takes the same limits from task_contract, and a test feeds what POST
    stores through this model."""

    task_id: str = Field(min_length=1, max_length=TASK_ID_MAX_LENGTH)
    user_id: int
    action: str = Field(min_length=1, max_length=ACTION_MAX_LENGTH)
    data: dict[str, Any] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)
    overlap: Overlap = "allow"  # skip: not while another run of the task is running
    max_lateness_seconds: int | None = None  # a delivery older than this is not run


class TaskCallbackResponse(BaseModel):
    success: bool
    message: str
    task_id: str
    result: dict[str, Any] | None = None
