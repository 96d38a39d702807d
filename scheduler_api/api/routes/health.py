"""`/health`: open to every caller, for load balancers and process supervisors.

With the local engine, 503 when its loop has not completed a round for a while (it is
stuck, or every round fails), with the reason; schedules the engine set aside as broken
are counted here too (they stay visible, with their reason, through the schedule routes).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from scheduler_api.api.deps import RuntimeDep
from scheduler_api.domain.errors import SchedulerError

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    responses={503: {"description": "The local engine is not completing its rounds"}},
)
async def health(runtime: RuntimeDep) -> JSONResponse:
    body: dict[str, Any] = {"status": "ok", "service": "scheduler-api"}
    engine = runtime.engine
    if engine is None:
        return JSONResponse(body)
    state = engine.health()
    try:
        count = runtime.count_broken
        broken: int | None = None if count is None else await run_in_threadpool(count)
    except SchedulerError:
        broken = None  # the store is busy: the engine's own state still answers
    body["engine"] = {
        "running": state.running,
        "seconds_since_round": (
            None if state.seconds_since_round is None else round(state.seconds_since_round, 3)
        ),
        "broken_schedules": broken,
    }
    if state.healthy:
        return JSONResponse(body)
    body.update(status="unavailable", reason=state.reason)
    return JSONResponse(body, status_code=503)
