"""The worker's FastAPI app: `lambda_worker.app:app`. Mangum runs it inside Lambda."""

from __future__ import annotations

import inspect
import logging
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from lambda_worker.actions import get_action, known_actions
from lambda_worker.actions.registry import ActionFunc
from lambda_worker.config import WorkerConfig, default_ledger, worker_config
from lambda_worker.ledger.base import Ledger, LedgerRecord
from lambda_worker.logs import log_fields
from lambda_worker.schemas import TaskCallbackRequest, TaskCallbackResponse
from lambda_worker.signing import signature_is_valid

logger = logging.getLogger("lambda_worker.callback")

app = FastAPI(title="Scheduled Tasks Lambda", version="0.1.0")


@dataclass(frozen=True)
class SchedulerContext:
    """What EventBridge Scheduler substituted into the X-Scheduler-* headers."""

    schedule_arn: str | None
    scheduled_time: str | None
    execution_id: str | None
    attempt: int | None
    run_at: str | None  # a one-time task's own time, set by the scheduler API

    @property
    def ledger_time(self) -> str | None:
        """The execution's time in the ledger key: each run of a cron has its own."""
        return self.scheduled_time or self.run_at


def _substituted(value: str | None) -> str | None:
    # Left as "<aws.scheduler...>" when the event was not sent by EventBridge Scheduler.
    return None if value is None or value.startswith("<aws.scheduler.") else value


def scheduler_context(
    x_scheduler_schedule_arn: Annotated[str | None, Header()] = None,
    x_scheduler_scheduled_time: Annotated[str | None, Header()] = None,
    x_scheduler_execution_id: Annotated[str | None, Header()] = None,
    x_scheduler_attempt: Annotated[str | None, Header()] = None,
    x_task_run_at: Annotated[str | None, Header()] = None,
) -> SchedulerContext:
    attempt = _substituted(x_scheduler_attempt)
    return SchedulerContext(
        schedule_arn=_substituted(x_scheduler_schedule_arn),
        scheduled_time=_substituted(x_scheduler_scheduled_time),
        execution_id=_substituted(x_scheduler_execution_id),
        attempt=int(attempt) if attempt and attempt.isdigit() else None,
        run_at=x_task_run_at,
    )


async def get_config() -> WorkerConfig:
    return worker_config()


async def get_ledger() -> Ledger | None:
    return default_ledger()


async def verify_signature(
    request: Request, config: Annotated[WorkerConfig, Depends(get_config)]
) -> None:
    """With SCHEDULER_CALLBACK_SECRET set, only signed callbacks run (401 is not retried)."""
    if config.callback_secret is None:
        return
    header = request.headers.get("x-scheduler-signature")
    if not signature_is_valid(config.callback_secret, header, await request.body()):
        logger.warning("rejected a callback with a missing or bad signature")
        raise HTTPException(401, "Missing or invalid X-Scheduler-Signature")


@app.get("/health")
def health_check() -> dict[str, str]:
    return {"status": "ok", "service": "scheduled-tasks-lambda"}


@app.post(
    "/api/v1/tasks/callback",
    response_model=TaskCallbackResponse,
    dependencies=[Depends(verify_signature)],
    responses={
        401: {"description": "Bad signature"},
        409: {"description": "This execution is running in another invocation"},
        422: {"description": "Unknown action"},
        500: {"description": "Action failed"},
    },
)
async def handle_task_callback(
    task: TaskCallbackRequest,
    context: Annotated[SchedulerContext, Depends(scheduler_context)],
    ledger: Annotated[Ledger | None, Depends(get_ledger)],
) -> Any:
    """Run the task's action once per (task_id, scheduled time). 2xx: done (or done
    before: the recorded result). 4xx: not to be retried. 5xx: failed; lambda_handler
    raises so Lambda retries and then dead-letters it."""
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
        if ledger is None or context.ledger_time is None:
            return await _run(func, task, None, None)
        claim = await run_in_threadpool(
            ledger.claim,
            task.task_id,
            context.ledger_time,
            attempt=context.attempt or 1,
            execution_id=context.execution_id,
            schedule_arn=context.schedule_arn,
        )
        if claim.outcome == "replay":
            logger.info("already done; replaying the recorded result")
            return _response(task, claim.record.result_data(), "already processed")
        if claim.outcome == "busy":
            logger.info("running in another invocation; not running it twice")
            return JSONResponse(
                {
                    "detail": "This execution is running in another invocation",
                    "task_id": task.task_id,
                },
                status_code=409,
            )
        return await _run(func, task, ledger, claim.record)


async def _run(
    func: ActionFunc, task: TaskCallbackRequest, ledger: Ledger | None, record: LedgerRecord | None
) -> Any:
    try:
        if inspect.iscoroutinefunction(func):
            result = await func(task)
        else:
            result = await run_in_threadpool(func, task)
    except Exception as exc:
        logger.exception("action failed")
        if ledger is not None and record is not None:
            await run_in_threadpool(ledger.fail, record, type(exc).__name__)
        return JSONResponse(
            {"detail": "Task processing failed", "task_id": task.task_id}, status_code=500
        )
    data = result if isinstance(result, dict) else None
    if ledger is not None and record is not None:
        await run_in_threadpool(ledger.succeed, record, data)
    logger.info("task done")
    return _response(task, data, "processed successfully")


def _response(task: TaskCallbackRequest, result: Any, verb: str) -> TaskCallbackResponse:
    return TaskCallbackResponse(
        success=True, message=f"Task {task.task_id} {verb}", task_id=task.task_id, result=result
    )
