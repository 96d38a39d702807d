"""Whether a schedule already holds a change: what `update(if_match=...)` asks when a retry
after a 503 answers 412. The 412 may be the first attempt's own doing (it applied, then the
answer was lost), so the schedule is read again and compared with what was asked.

Only what a ScheduleDetail shows can be confirmed. `delay_minutes` (relative to when the
server read it) and `run_at` (rewritten into the schedule's time zone) are not compared:
a change holding either stays PreconditionFailed, which is the safe answer."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from scheduler_client.errors import PreconditionFailed
from scheduler_client.models import ScheduleDetail

_EXPRESSIONS = {"cron": "cron({})", "rate": "rate({})"}
_OF_THE_SCHEDULE = ("timezone", "start_date", "end_date", "flexible_window_minutes")
_OF_THE_TASK = ("action", "data", "overlap", "max_lateness_seconds")


def unconfirmed(change: Mapping[str, Any], detail: ScheduleDetail) -> list[str]:
    """The fields of `change` (as set by the caller) the schedule does not visibly hold."""
    return sorted(name for name, wanted in change.items() if not _holds(name, wanted, detail))


def _holds(name: str, wanted: Any, detail: ScheduleDetail) -> bool:
    if name in _EXPRESSIONS:
        return wanted is not None and detail.schedule_expression == _EXPRESSIONS[name].format(
            wanted
        )
    if name in _OF_THE_SCHEDULE:
        held: Any = getattr(detail, name)
        return bool(held == wanted)
    if detail.task is None:
        return False
    if name == "labels":
        return detail.task.labels == (wanted or {})
    if name in _OF_THE_TASK:
        return bool(getattr(detail.task, name) == wanted)
    return False  # delay_minutes, run_at: cannot be read back


def confirm_change(change: Mapping[str, Any]) -> Callable[[Any], ScheduleDetail]:
    """The result of the GET that follows such a 412: the schedule if it holds `change`,
    else PreconditionFailed naming what it does not hold."""

    def read(body: Any) -> ScheduleDetail:
        detail = ScheduleDetail.model_validate(body)
        missing = unconfirmed(change, detail)
        if missing:
            raise PreconditionFailed(
                "The schedule changed since if_match's version and does not hold this "
                f"change ({', '.join(missing)})",
                status=412,
            )
        return detail

    return read
