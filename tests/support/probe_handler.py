"""A Lambda handler for tests: records each event, can fail on purpose, then runs the
real worker (lambda_worker.handler.lambda_handler), so every path stays the real one.

In-process tests read EVENTS; server processes append JSON lines to $PROBE_LOG.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from lambda_worker.actions.registry import action
from lambda_worker.handler import known_actions as known_actions  # the local POST check reads it
from lambda_worker.handler import lambda_handler
from lambda_worker.schemas import TaskCallbackRequest
from task_contract import LambdaContext, ProxyEvent

EVENTS: list[ProxyEvent] = []
FAILURES: dict[str, int] = {}  # task_id -> how many more invocations raise


class ProbeFailureError(RuntimeError):
    pass


def task_id_of(event: ProxyEvent) -> str:
    """The task a recorded event delivers (every probe's event is a POST with a body)."""
    body = event.get("body")
    assert body is not None, "a delivery without a body"
    task_id: str = json.loads(body)["task_id"]
    return task_id


def handler(event: ProxyEvent, context: LambdaContext) -> dict[str, Any]:
    EVENTS.append(event)
    task_id = task_id_of(event)
    if FAILURES.get(task_id, 0) > 0:
        FAILURES[task_id] -= 1
        raise ProbeFailureError("probe failure with secret=do-not-show")
    return lambda_handler(event, context)


def file_handler(event: ProxyEvent, context: LambdaContext) -> dict[str, Any]:
    """For server processes: one line per invocation, written before the task completes."""
    delay = float(os.environ.get("PROBE_DELAY_SECONDS", "0"))
    if delay:
        time.sleep(delay)
    response = lambda_handler(event, context)
    body = json.loads(response.get("body") or "{}")
    line = json.dumps(
        {
            "task_id": task_id_of(event),
            "status_code": response.get("statusCode"),
            "message": body.get("message") if isinstance(body, dict) else None,
            "scheduled_time": event["headers"]["X-Scheduler-Scheduled-Time"],
            "execution_id": event["headers"]["X-Scheduler-Execution-Id"],
            "invoked_at": time.time(),
        }
    )
    with open(os.environ["PROBE_LOG"], "a", encoding="utf-8") as log:
        log.write(line + "\n")
    return response


def events_for(task_id: str) -> list[ProxyEvent]:
    return [e for e in EVENTS if task_id_of(e) == task_id]


def reset() -> None:
    EVENTS.clear()
    FAILURES.clear()


def failing_handler(event: ProxyEvent, context: LambdaContext) -> dict[str, Any]:
    """For server processes: raises while $PROBE_FAIL_FILE exists and names the task_id
    (one per line), so a test can make a task dead-letter, then let its redrive succeed."""
    task_id = task_id_of(event)
    path = os.environ.get("PROBE_FAIL_FILE", "")
    if path and os.path.exists(path):
        with open(path, encoding="utf-8") as names:
            if task_id in names.read().split():
                raise ProbeFailureError(f"probe failure of {task_id}")
    return lambda_handler(event, context)


@action("probe_run")
def probe_run(task: TaskCallbackRequest) -> dict[str, Any]:
    """An action that records each time it really runs, from inside the action: a line in
    $PROBE_ACTION_LOG written before the worker records the run in its ledger. A process
    killed after the line and before the ledger write runs it again, and the line appears
    twice: what is counted is what ran."""
    with open(os.environ["PROBE_ACTION_LOG"], "a", encoding="utf-8") as log:
        log.write(json.dumps({"task_id": task.task_id}) + "\n")
    return {"recorded": True}


class ProbeActionError(ValueError):
    pass


@action("probe_fail")
def probe_fail(task: TaskCallbackRequest) -> None:
    """An action that always raises: its traceback is the one the logs must show."""
    raise ProbeActionError(f"probe action failed for {task.task_id}")
