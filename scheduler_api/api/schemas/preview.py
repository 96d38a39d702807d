"""An expression's next fire times, before anything is scheduled."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class PreviewResponse(BaseModel):
    expression: str
    timezone: str
    after: datetime
    next_run_times: list[datetime]
