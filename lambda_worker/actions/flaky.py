"""`flaky`: an example action that fails on request, to watch retries, a dead letter and a
redrive without writing code.

`data.fail_attempts` (a whole number, default 1) is how many tries fail: the action raises
`FlakyActionError` on tries 1 to fail_attempts and succeeds on the next. With the local
engine's default `LOCAL_MAX_RETRIES=2`, `{"fail_attempts": 1}` is retried once and
succeeds; `{"fail_attempts": 3}` fails all three tries and is dead-lettered, and a redrive
(the fourth try) succeeds. `0` never fails.
"""

from __future__ import annotations

import logging
from typing import Any

from lambda_worker.actions.attempts import current_attempt
from lambda_worker.actions.registry import action
from lambda_worker.schemas import TaskCallbackRequest

logger = logging.getLogger(__name__)
DEFAULT_FAIL_ATTEMPTS = 1


class FlakyActionError(RuntimeError):
    """The failure `flaky` was asked for."""


def fail_attempts_of(task: TaskCallbackRequest) -> int:
    """`data.fail_attempts`, or a FlakyActionError when it is not a whole number >= 0."""
    value = task.data.get("fail_attempts", DEFAULT_FAIL_ATTEMPTS)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FlakyActionError("data.fail_attempts must be a whole number, 0 or more")
    return value


@action("flaky")
def flaky(task: TaskCallbackRequest) -> dict[str, Any]:
    fail_attempts = fail_attempts_of(task)
    attempt = current_attempt()
    if attempt <= fail_attempts:
        raise FlakyActionError(f"try {attempt} of {fail_attempts} set to fail")
    logger.info("succeeded on try %d after %d failed", attempt, fail_attempts)
    return {"attempt": attempt, "failed_attempts": fail_attempts}
