"""Bulk delete, pause or resume of every schedule a filter selects.

The matches are read first, then changed one by one through the same operations as the
single routes, each of which changes nothing when there is nothing to change: so a job cut
short (the process killed, a 503) is finished by repeating the request, and nothing is
counted twice (what the first run changed is no longer counted as changed).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from scheduler_api.domain.errors import (
    BackendUnavailableError,
    ExpressionError,
    ScheduleBusyError,
    ScheduleNotFoundError,
    SchedulerError,
)
from scheduler_api.domain.schedules import ScheduleFilter, ScheduleListing, ScheduleState
from scheduler_api.services.aws_service import AwsService

logger = logging.getLogger(__name__)

Operation = Literal["delete", "pause", "resume"]
PAGE = 1000
PREVIEW = 100
PROGRESS_EVERY = 1000
_STATE: dict[str, ScheduleState] = {"pause": "DISABLED", "resume": "ENABLED"}


@dataclass(frozen=True)
class BulkResult:
    matched: int
    changed: int
    failed: int
    preview: list[ScheduleListing]  # a dry run's first items


def matching(scheduler: AwsService, where: ScheduleFilter) -> list[ScheduleListing]:
    items: list[ScheduleListing] = []
    token: str | None = None
    while True:
        page = scheduler.find_schedules(where, limit=PAGE, next_token=token)
        items.extend(page.schedules)
        token = page.next_token
        if token is None:
            return items


def run_bulk(
    scheduler: AwsService, operation: Operation, where: ScheduleFilter, *, dry_run: bool
) -> BulkResult:
    items = matching(scheduler, where)
    if dry_run:
        return BulkResult(len(items), 0, 0, items[:PREVIEW])
    changed = failed = 0
    for done, item in enumerate(items, start=1):
        try:
            changed += _apply(scheduler, operation, item.arn)
        except ScheduleBusyError:
            # This one schedule is being changed (or was left mid-change on the AWS index
            # until the pending grace heals it): the others can still be changed.
            logger.warning("bulk %s: %s not changed (busy)", operation, item.arn)
            failed += 1
        except BackendUnavailableError:
            raise  # throttled or down: the whole job is a 503, and repeating it finishes it
        except (SchedulerError, ExpressionError) as exc:
            # This schedule cannot be changed (resuming a one-time schedule whose time has
            # passed; a stored schedule that cannot be read): the others still are.
            logger.warning("bulk %s: %s not changed (%s)", operation, item.arn, type(exc).__name__)
            failed += 1
        if done % PROGRESS_EVERY == 0:
            logger.info("bulk %s: %d of %d done, %d changed", operation, done, len(items), changed)
    logger.info(
        "bulk %s finished: %d matched, %d changed, %d failed",
        operation,
        len(items),
        changed,
        failed,
    )
    return BulkResult(len(items), changed, failed, [])


def _apply(scheduler: AwsService, operation: Operation, arn: str) -> bool:
    if operation == "delete":
        return scheduler.cancel_schedule(arn)
    try:
        return scheduler.change_state(arn, _STATE[operation])[1]
    except ScheduleNotFoundError:
        return False  # gone since it was matched (deleted, or a one-time one that ran)
