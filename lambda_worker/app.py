"""The worker's FastAPI app: `lambda_worker.app:app`. Mangum runs it inside Lambda.

Blocking work (a sync action, a ledger write) runs inline, on the event loop: under
Mangum each invocation has the loop to itself (Lambda sends one event at a time, and the
local engine gives each of its threads its own loop), so nothing else waits, while a
thread hop per call would cost more than a hello-world invocation. Serving this app with
uvicorn instead? Then write slow actions as `async def`.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from lambda_worker.actions import get_action, known_actions, running_attempt
from lambda_worker.actions.registry import ActionFunc
from lambda_worker.config import WorkerConfig, default_ledger, worker_config
from lambda_worker.delivery import (
    DeliveryError,
    SchedulerContext,
    check_window,
    scheduler_context,
    signature_of,
)
from lambda_worker.ledger.base import Ledger, LedgerUnavailableError, RunLedger
from lambda_worker.ledger.null import NULL_LEDGER
from lambda_worker.logs import log_fields
from lambda_worker.policies import OVERLAP_REASON, lateness_reason, no_overlap
from lambda_worker.schemas import TaskCallbackRequest, TaskCallbackResponse
from task_contract import SKIPPED_HEADER, LedgerRecord, RunStatus

logger = logging.getLogger("lambda_worker.callback")
EARLIER_ATTEMPT_RUNNING = "EarlierAttemptRunning"  # the 503's `error`: the run's reason
LEDGER_UNAVAILABLE = "LedgerUnavailable"  # the 503's `error` when the ledger is locked

app = FastAPI(title="Scheduled Tasks Lambda", version="0.1.0")


@app.exception_handler(LedgerUnavailableError)
async def ledger_unavailable(_request: Request, exc: LedgerUnavailableError) -> JSONResponse:
    """A 503 the engine (or Lambda) retries, naming why, instead of a bare 500."""
    logger.error("ledger unavailable: %s", exc)
    return JSONResponse(
        {"detail": "The run ledger is busy or unavailable", "error": LEDGER_UNAVAILABLE},
        status_code=503,
    )


@dataclass(frozen=True)
class Worker:
    """What the callback runs with: settings, the ledger (None when off), the clock."""

    config: WorkerConfig
    ledger: Ledger | None
    clock: Callable[[], float] = time.time


async def get_worker() -> Worker:
    """The one dependency of the callback route (tests override it)."""
    return Worker(worker_config(), default_ledger())


def callback_body(body: bytes) -> TaskCallbackRequest:
    """The body, validated as FastAPI would (a 422 naming `body` fields). Not declared as
    a model parameter: for a model (parameter or response) FastAPI imports pydantic.v1
    to check which major version it is, 18 ms of every cold start (benchmark 3); and read
    only once the signature holds, so an unsigned caller learns nothing of the model."""
    try:
        return TaskCallbackRequest.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in errors]
        ) from None


def _delivery(request: Request, body: bytes, worker: Worker) -> SchedulerContext | JSONResponse:
    """The delivery's context if the worker believes it, else the refusal: 401 for a
    missing or bad signature (checked first, before anything else is read), 400 for a
    malformed header, 401 for a signed delivery whose times no real one carries."""
    headers = request.headers
    try:
        signature = signature_of(worker.config, headers, body)
        context = scheduler_context(headers)
        check_window(signature, context, worker.config, worker.clock())
    except DeliveryError as exc:
        logger.warning("refused a callback: %s", exc.detail)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
    return context


def _json_schema(model: type[TaskCallbackRequest] | type[TaskCallbackResponse]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": model.model_json_schema()}}}


@app.get("/health", response_model=None)  # no model: see callback_body
def health_check() -> dict[str, str]:
    return {"status": "ok", "service": "scheduled-tasks-lambda"}


@app.post(
    "/api/v1/tasks/callback",
    response_model=None,
    openapi_extra={"requestBody": {"required": True, **_json_schema(TaskCallbackRequest)}},
    responses={
        200: {"description": "Done, or done before", **_json_schema(TaskCallbackResponse)},
        400: {"description": "A malformed X-Scheduler-* or X-Task-* header"},
        401: {"description": "Bad signature, or a signed delivery outside its time bounds"},
        409: {"description": "This execution is running in another invocation"},
        422: {"description": "Unknown action"},
        500: {"description": "Action failed"},
        503: {"description": "An earlier attempt still runs, or the ledger is busy"},
    },
)
async def handle_task_callback(
    request: Request, worker: Annotated[Worker, Depends(get_worker)]
) -> Any:
    """Run the task's action once per (task_id, scheduled time), a manual run once per
    run. 2xx: done (or done before: the recorded result). 4xx: not to be retried. 5xx:
    failed; lambda_handler raises so Lambda retries and then dead-letters it."""
    body = await request.body()
    context = _delivery(request, body, worker)
    if isinstance(context, JSONResponse):
        return context
    task = callback_body(body)
    ledger = ledger_for(worker, context)
    with log_fields(
        task_id=task.task_id,
        action=task.action,
        user_id=task.user_id,
        schedule_arn=context.schedule_arn,
        scheduled_time=context.scheduled_time,
        execution_id=context.execution_id,
        attempt=context.attempt,
        labels=task.labels or None,
    ):
        func = get_action(task.action)
        record = _claim(ledger, task, context)
        if isinstance(record, Response):
            return record  # done before, or running elsewhere
        if func is None:
            detail = f"Unknown action {task.action!r}"
            logger.warning("unknown action %r", task.action)
            ledger.refuse(record, 422, detail)
            return JSONResponse(
                {
                    "detail": detail,
                    "known_actions": known_actions(),
                    "task_id": task.task_id,
                },
                status_code=422,
            )
        late = lateness_reason(task, context.ledger_time, worker.clock())
        if late is not None:
            return _skip(task, ledger, record, late)
        with no_overlap(task, worker.ledger) as may_run:
            if not may_run:
                return _skip(task, ledger, record, OVERLAP_REASON)
            return await _run(func, task, ledger, record)


def ledger_for(worker: Worker, context: SchedulerContext) -> RunLedger:
    """Where this delivery's run is recorded: the worker's ledger, or the null ledger when
    none is configured or the delivery has no scheduled time to key its record on."""
    if worker.ledger is None or context.ledger_key is None:
        return NULL_LEDGER
    return worker.ledger


def _claim(
    ledger: RunLedger, task: TaskCallbackRequest, context: SchedulerContext
) -> LedgerRecord | Response:
    """The record to run under, or the answer for a delivery that must not run."""
    claim = ledger.claim(
        task.task_id,
        context.ledger_key or "",  # None only with the null ledger, which keys nothing
        attempt=context.attempt or 1,
        execution_id=context.execution_id,
        schedule_arn=context.schedule_arn,
    )
    if claim.outcome == "replay":
        logger.info("already done; replaying the recorded result")
        if claim.record.status == RunStatus.SKIPPED:
            return _skipped(task, claim.record.error or "skipped")
        return _response(task, claim.record.result_data(), "already processed")
    if claim.outcome == "busy":
        logger.info("running in another invocation; not running it twice")
        return JSONResponse(
            {"detail": "This execution is running in another invocation", "task_id": task.task_id},
            status_code=409,
        )
    if claim.outcome == "wait":
        # Not a duplicate (a 409, never retried) but a retry that came early: a 5xx, so
        # the engine tries again after its backoff, by when the earlier attempt has ended.
        logger.warning("attempt %d of this execution is still running", claim.record.attempt)
        return JSONResponse(
            {
                "detail": "An earlier attempt of this execution is still running",
                "task_id": task.task_id,
                "error": EARLIER_ATTEMPT_RUNNING,
            },
            status_code=503,
        )
    return claim.record


async def _run(
    func: ActionFunc, task: TaskCallbackRequest, ledger: RunLedger, record: LedgerRecord
) -> Any:
    try:
        with running_attempt(max(record.attempt, record.attempts)):
            result = func(task)
            if inspect.isawaitable(result):  # async def, or any callable that returns one
                result = await result
    except Exception as exc:
        logger.exception("action failed")
        error_type = type(exc).__name__  # the class, never the message: that is logged
        ledger.fail(record, error_type)
        return JSONResponse(
            {"detail": "Task processing failed", "task_id": task.task_id, "error": error_type},
            status_code=500,
        )
    data = result if isinstance(result, dict) else None
    ledger.succeed(record, data)
    logger.info("task done")
    return _response(task, data, "processed successfully")


def _skip(
    task: TaskCallbackRequest, ledger: RunLedger, record: LedgerRecord, reason: str
) -> Response:
    logger.info("not run: %s", reason)
    ledger.skip(record, reason)
    return _skipped(task, reason)


def _skipped(task: TaskCallbackRequest, reason: str) -> Response:
    """200, so nothing retries it; the header tells the local engine it was SKIPPED."""
    body = TaskCallbackResponse(
        success=True, message=f"Task {task.task_id} skipped: {reason}", task_id=task.task_id
    )
    return Response(
        body.model_dump_json(), media_type="application/json", headers={SKIPPED_HEADER: reason}
    )


def _response(task: TaskCallbackRequest, result: Any, verb: str) -> Response:
    """Serialised by pydantic directly: FastAPI's response_model path validates the model
    again and runs jsonable_encoder, a third of a hello-world invocation."""
    body = TaskCallbackResponse(
        success=True, message=f"Task {task.task_id} {verb}", task_id=task.task_id, result=result
    )
    return Response(body.model_dump_json(), media_type="application/json")
