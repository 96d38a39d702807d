"""Calls the worker's Lambda handler in-process, the way Lambda would call it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from scheduler_api.backends.local.store.outcomes import Outcome
from scheduler_api.domain.task_input import encode_input
from task_contract import (
    SKIPPED_HEADER,
    LambdaContext,
    ProxyEvent,
    TaskFailedError,
    answer_detail,
    mark_manual_run,
    refusal_error,
    sign_delivery,
    substitute_context_attributes,
)

logger = logging.getLogger(__name__)

LambdaHandler = Callable[[Any, Any], Any]
DEFAULT_TIMEOUT_SECONDS = 900
_thread_state = threading.local()


class LocalLambdaContext:
    """Lambda's context object, as task_contract.LambdaContext names it (checked by mypy
    where invoke passes it)."""

    def __init__(self, function_arn: str, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self.invoked_function_arn = function_arn
        self.function_name = function_arn.rsplit(":", 1)[-1]
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 128
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass(frozen=True)
class Invocation:
    """One attempt to deliver: what `invoke` needs besides the handler. Plain values, so
    that it can be sent to a worker process (LOCAL_INVOKER=process) as it is."""

    input_text: str
    schedule_arn: str
    scheduled_time: str
    execution_id: str
    attempt: int
    function_arn: str
    manual_run: str | None = None
    signing: tuple[str, int] | None = None


def invoke_invocation(
    handler: LambdaHandler,
    invocation: Invocation,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
) -> Outcome:
    """`invoke` with the fields of `invocation`: what either invoker runs."""
    return invoke(handler, **asdict(invocation), timeout_seconds=timeout_seconds)


def event_text_of(invocation: Invocation) -> str:
    """The event `invoke` delivers for `invocation`, for an outcome the handler never gave
    (its worker process died or timed out): the dead letter shows what was sent."""
    event_text = substitute_context_attributes(
        invocation.input_text,
        schedule_arn=invocation.schedule_arn,
        scheduled_time=invocation.scheduled_time,
        execution_id=invocation.execution_id,
        attempt=invocation.attempt,
    )
    if invocation.manual_run is None and invocation.signing is None:
        return event_text
    return delivery_text(json.loads(event_text), invocation.manual_run, invocation.signing)


def invoke(
    handler: LambdaHandler,
    input_text: str,
    *,
    schedule_arn: str,
    scheduled_time: str,
    execution_id: str,
    attempt: int,
    function_arn: str,
    manual_run: str | None = None,
    signing: tuple[str, int] | None = None,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
) -> Outcome:
    """`signing` is (secret, now): the delivery is then signed (v2) over its time,
    execution id, attempt and body, so nothing of it can be changed on the way."""
    event_text = substitute_context_attributes(
        input_text,
        schedule_arn=schedule_arn,
        scheduled_time=scheduled_time,
        execution_id=execution_id,
        attempt=attempt,
    )
    event: ProxyEvent = json.loads(event_text)
    if manual_run is not None or signing is not None:
        event_text = delivery_text(event, manual_run, signing)
    _ensure_event_loop()
    context: LambdaContext = LocalLambdaContext(function_arn, timeout_seconds)
    try:
        response = handler(event, context)
    except TaskFailedError as exc:
        # The worker's own: it logged the action's traceback already, and this one would
        # only show the handler raising. The body's `error` names the action's exception.
        error_type = exc.error_type or "TaskFailedError"
        logger.warning(
            "execution %s attempt %d failed: the callback answered %d (%s)",
            execution_id, attempt, exc.status_code, error_type,
        )  # fmt: skip
        return Outcome(True, exc.status_code, error_type, event_text)
    except BaseException as exc:  # SystemExit from an action too: the engine goes on
        # Raised by the handler itself: its traceback is the only one. The message can
        # hold anything the handler put there: it goes to the log only.
        logger.warning("execution %s attempt %d raised", execution_id, attempt, exc_info=exc)
        return Outcome(True, None, type(exc).__name__, event_text)
    status_code = response.get("statusCode") if isinstance(response, dict) else None
    error = None
    if status_code is not None and status_code >= 400:
        error = refusal_error(status_code, _answer_detail(response))
    return Outcome(False, status_code, error, event_text, _skipped(response))


def _answer_detail(response: Any) -> str | None:
    """The worker's reason for a 4xx, from the answer's JSON body (`detail`)."""
    body = response.get("body") if isinstance(response, dict) else None
    if not isinstance(body, str) or response.get("isBase64Encoded"):
        return None
    return answer_detail(body)


def delivery_text(
    event: ProxyEvent, manual_run: str | None, signing: tuple[str, int] | None
) -> str:
    """Mark a run-now's event with its id and sign it (v2), in place; the event as text."""
    if manual_run is not None:
        mark_manual_run(event, manual_run)
    if signing is not None:
        secret, now = signing
        if not sign_delivery(event, secret, now):
            logger.warning(
                "the stored Input's signature does not hold (changed, or made with another"
                " secret): delivered as it is, for the worker to refuse"
            )
    return encode_input(event)


def _skipped(response: Any) -> str | None:
    headers = response.get("headers") if isinstance(response, dict) else None
    if not isinstance(headers, dict):
        return None
    reason = headers.get(SKIPPED_HEADER.lower()) or headers.get(SKIPPED_HEADER)
    return reason if isinstance(reason, str) else None


def _ensure_event_loop() -> None:
    """Mangum runs the app on the thread's event loop; engine threads have none."""
    if getattr(_thread_state, "loop", None) is None:
        _thread_state.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(_thread_state.loop)


def close_thread_event_loops() -> None:
    """Close the event loops this thread made for its invocations: `_ensure_event_loop`'s
    and the one the handler set as the thread's (the worker keeps one per thread). Left
    open, they are closed by their finalizers whenever they are collected, at interpreter
    exit too, where one could find its self-pipe finalized first and print a traceback
    after everything else ('Exception ignored in: BaseEventLoop.__del__ ... Invalid file
    descriptor: -1', seen at the end of a benchmark's run)."""
    own = getattr(_thread_state, "loop", None)
    if own is None:  # no invocation ran on this thread: it made and was given no loop
        return
    loops = {own}
    with contextlib.suppress(RuntimeError):  # the handler unset the thread's loop
        # Set, so this never makes one (nor warns, as it would in a main thread with none).
        loops.add(asyncio.get_event_loop())
    for loop in loops:
        # A loop running elsewhere (a handler of yours may share one) is its owner's.
        if loop is not None and not loop.is_closed() and not loop.is_running():
            loop.close()
    _thread_state.loop = None
    asyncio.set_event_loop(None)


class Invoker(Protocol):
    """Runs invocations somewhere else than the calling thread (LOCAL_INVOKER=process).
    The engine calls `invoke` from its pool threads, at most its concurrency at once."""

    def start(self) -> None:
        """Get ready to invoke (the engine's start); invoking also starts what it needs."""

    def invoke(self, invocation: Invocation) -> Outcome:
        """The outcome, as invoke() maps it; InvocationAbandonedError once closing."""

    def close(self, grace_seconds: float) -> None:
        """End what start() began within `grace_seconds`, whatever is still running."""


class InvocationAbandonedError(RuntimeError):
    """The invoker was closed while this invocation ran: the engine has released the
    execution (it runs again at the next start), so there is no outcome to record."""
