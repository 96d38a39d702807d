"""A Lambda handler whose record and orders live in files, so that it behaves the same in
the engine's threads and in its worker processes (LOCAL_INVOKER=process).

$INVOKER_PROBE_DIR holds events.jsonl (one line per invocation, with the pid that ran
it) and orders.json: per task_id, a list of what its next invocations do, first first:
"raise", "exit" (sys.exit), "hang" (block until the process ends; writes hang.pid first),
"log" (log a warning, then run). Anything else, or none left, runs the real worker.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lambda_worker.handler import known_actions as known_actions  # the local POST check reads it
from lambda_worker.handler import lambda_handler
from task_contract import LambdaContext, ProxyEvent

logger = logging.getLogger("tests.invoker_probe")


class ProbeFailureError(RuntimeError):
    pass


def directory() -> Path:
    return Path(os.environ["INVOKER_PROBE_DIR"])


@contextmanager
def locked() -> Any:
    with open(directory() / "lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def order(task_id: str, *actions: str) -> None:
    """Queue what the next invocations of `task_id` do."""
    with locked():
        orders = _orders()
        orders.setdefault(task_id, []).extend(actions)
        (directory() / "orders.json").write_text(json.dumps(orders))


def _orders() -> dict[str, list[str]]:
    path = directory() / "orders.json"
    loaded: dict[str, list[str]] = json.loads(path.read_text()) if path.exists() else {}
    return loaded


def _next_order(task_id: str) -> str | None:
    with locked():
        orders = _orders()
        pending = orders.get(task_id) or []
        if not pending:
            return None
        action = pending.pop(0)
        (directory() / "orders.json").write_text(json.dumps(orders))
        return action


def events(task_id: str | None = None) -> list[dict[str, Any]]:
    path = directory() / "events.jsonl"
    if not path.exists():
        return []
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    return [line for line in lines if task_id is None or line["task_id"] == task_id]


def handler(event: ProxyEvent, context: LambdaContext) -> dict[str, Any]:
    task_id = json.loads(event.get("body") or "{}")["task_id"]
    line = {"task_id": task_id, "pid": os.getpid(), "event": event}
    line["remaining_ms"] = context.get_remaining_time_in_millis()
    with locked(), open(directory() / "events.jsonl", "a") as log:
        log.write(json.dumps(line) + "\n")
    action = _next_order(task_id)
    if action == "raise":
        raise ProbeFailureError("probe failure with secret=do-not-show")
    if action == "exit":
        sys.exit(3)  # a user's handler calling sys.exit()
    if action == "hang":
        (directory() / "hang.pid").write_text(str(os.getpid()))
        threading.Event().wait()
    if action == "log":
        logger.warning("a line from the handler of %s, in pid %d", task_id, os.getpid())
    return lambda_handler(event, context)
