"""The local-mode baseline: a bare FastAPI endpoint that validates the same body and returns."""

from __future__ import annotations

from fastapi import FastAPI

from scheduler_api.services.requests import ScheduleTaskRequest

app = FastAPI()


@app.post("/scheduler/schedule")
async def schedule(request: ScheduleTaskRequest) -> dict[str, object]:
    return {"success": True, "task_id": request.task_id}
