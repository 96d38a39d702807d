"""The worker's FastAPI app: `lambda_worker.app:app`. Mangum runs it inside Lambda."""

from __future__ import annotations

import inspect
import logging
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from lambda_worker.actions import get_action, known_actions
from lambda_worker.logs import log_fields
from lambda_worker.schemas import TaskCallbackRequest, TaskCallbackResponse

logger = logging.getLogger("lambda_worker.callback")

app = FastAPI(title="Scheduled Tasks Lambda", version="0.1.0")


@dataclass(frozen=True)
class SchedulerContext:
    """What EventBridge Scheduler substituted into the X-Scheduler-* headers."""

    schedule_arn: str | None
    scheduled_time: str | None
    execution_id: str | None
    attempt: int | None


def _substituted(value: str | None) -> str | None:
    # Left as "<aws.scheduler...>" when the event was not sent by EventBridge Scheduler.
    return None if value is None or value.startswith("<aws.scheduler.") else value


def scheduler_context(
    x_scheduler_schedule_arn: Annotated[str | None, Header()] = None,
    x_scheduler_scheduled_time: Annotated[str | None, Header()] = None,
    x_scheduler_execution_id: Annotated[str | None, Header()] = None,
    x_scheduler_attempt: Annotated[str | None, Header()] = None,
) -> SchedulerContext:
    attempt = _substituted(x_scheduler_attempt)
    return SchedulerContext(
        schedule_arn=_substituted(x_scheduler_schedule_arn),
        scheduled_time=_substituted(x_scheduler_scheduled_time),
        execution_id=_substituted(x_scheduler_execution_id),
        attempt=int(attempt) if attempt and attempt.isdigit() else None,
    )


@app.get("/health")
def health_check() -> dict[str, str]:
    return {"status": "ok", "service": "scheduled-tasks-lambda"}


@app.post(
    "/api/v1/tasks/callback",
    response_model=TaskCallbackResponse,
    responses={422: {"description": "Unknown action"}, 500: {"description": "Action failed"}},
)
async def handle_task_callback(
    task: TaskCallbackRequest,
    context: Annotated[SchedulerContext, Depends(scheduler_context)],
) -> Any:
    """Run the task's action. 2xx: done. 4xx: the task cannot succeed (not retried).
    5xx: failed; lambda_handler raises so Lambda retries and then dead-letters it."""
    with log_fields(
        task_id=task.task_id,
        action=task.action,
        user_id=task.user_id,
        schedule_arn=context.schedule_arn,
        scheduled_time=context.scheduled_time,
        execution_id=context.execution_id,
        attempt=context.attempt,
    ):
        func = get_action(task.action)
        if func is None:
            logger.warning("unknown action %r", task.action)
            return JSONResponse(
                {
                    "detail": f"Unknown action {task.action!r}",
                    "known_actions": known_actions(),
                    "task_id": task.task_id,
                },
                status_code=422,
            )
        try:
            if inspect.iscoroutinefunction(func):
                result = await func(task)
            else:
                result = await run_in_threadpool(func, task)
        except Exception:
            logger.exception("action failed")
            return JSONResponse(
                {"detail": "Task processing failed", "task_id": task.task_id}, status_code=500
            )
        logger.info("task done")
        return TaskCallbackResponse(
            success=True,
            message=f"Task {task.task_id} processed successfully",
            task_id=task.task_id,
            result=result if isinstance(result, dict) else None,
        )
