"""Actions the worker can run. To add one, write a module like `send_notification.py`
with an `@action("name")` function and import it below."""

# Built-in actions register themselves on import.
from lambda_worker.actions import (
    cleanup,
    flaky,
    generate_daily_report,
    process_payment,
    send_notification,
)
from lambda_worker.actions.attempts import current_attempt, running_attempt
from lambda_worker.actions.registry import action, get_action, known_actions

__all__ = [
    "action",
    "cleanup",
    "current_attempt",
    "flaky",
    "generate_daily_report",
    "get_action",
    "known_actions",
    "process_payment",
    "running_attempt",
    "send_notification",
]
