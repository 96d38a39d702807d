"""What every side of benchmark 11 runs as its job, and how each completion is counted:
from inside the job, in the process that ran it, by the key the runner gave it. The same
trivial work for all three schedulers, so the figures compare their scheduling alone.

- `handler`: ours, a Lambda-shaped handler behind LOCAL_LAMBDA_HANDLER (the key is the
  event body's task_id);
- `job`: APScheduler's and huey's, a plain function of the key.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from typing import Any

_lock = threading.Condition()
_started: dict[str, float] = {}  # key -> time.time() when the job first started
_runs: Counter[str] = Counter()  # key -> how often a job with that key ran


def job(key: str) -> None:
    """A peer's job: record that this key ran, and when."""
    now = time.time()
    with _lock:
        _runs[key] += 1
        _started.setdefault(key, now)
        _lock.notify_all()


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:  # noqa: ARG001 - Lambda's signature
    """Our side's job, as Lambda calls it: a 200 the engine records as a success."""
    job(json.loads(event.get("body") or "{}")["task_id"])
    return {"statusCode": 200, "headers": {}, "body": '{"message": "done"}'}


def wait_for(count: int, timeout: float) -> bool:
    """Until `count` distinct keys have run (True), or `timeout` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    with _lock:
        while len(_runs) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            _lock.wait(min(left, 1.0))
    return True


def completions() -> tuple[dict[str, float], Counter[str]]:
    """Each key's first start time, and how often each key ran."""
    with _lock:
        return dict(_started), Counter(_runs)
