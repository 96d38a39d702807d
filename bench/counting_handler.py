"""The worker's real handler, counting from the action's side: each invocation that ran
the action to success is recorded by (task_id, scheduled time), so a benchmark counts what
really ran, not what the engine's table says.

The worker is imported with this module, as Lambda's init phase imports a handler's
module before the first invocation (and LOCAL_INVOKER=process's workers before they say
they are ready). lambda_worker.handler builds its ledger from LEDGER_DB_PATH when it is
imported, so a benchmark imports this module only once its settings are in place
(bench/engine_run.py): one that imported it earlier measured the worker with no ledger
at all (issue 22). An import at the first call instead put the worker's import, about a
second of CPU in each of the eight worker processes, inside the burst they measured.

With $BENCH_COUNT_FILE set, each success is also a line appended there, so that runs in
the engine's worker processes (LOCAL_INVOKER=process) are counted too.
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from typing import Any

from lambda_worker.handler import lambda_handler
from task_contract import LambdaContext, ProxyEvent

_lock = threading.Lock()
_succeeded: Counter[tuple[str, str]] = Counter()


def handler(event: ProxyEvent, context: LambdaContext) -> dict[str, Any]:
    response = lambda_handler(event, context)
    body = json.loads(response.get("body") or "{}")
    ran = response["statusCode"] == 200 and body.get("message", "").endswith("successfully")
    if ran:
        key = (
            json.loads(event.get("body") or "{}")["task_id"],
            event["headers"]["X-Scheduler-Scheduled-Time"],
        )
        with _lock:
            _succeeded[key] += 1
        if COUNT_FILE:
            with open(COUNT_FILE, "a", encoding="utf-8") as counts:  # one write: O_APPEND
                counts.write(json.dumps(key) + "\n")
    return response


COUNT_FILE = os.environ.get("BENCH_COUNT_FILE")


def succeeded_runs() -> Counter[tuple[str, str]]:
    if COUNT_FILE:
        with open(COUNT_FILE, encoding="utf-8") as counts:
            return Counter(tuple(json.loads(line)) for line in counts)
    with _lock:
        return Counter(_succeeded)
