"""Where this service's schedules live and what they invoke (read from settings once), and
which schedule ARNs are this service's to touch."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from scheduler_api.domain.names import ScheduleArn

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServiceTarget:
    """Where this service's schedules live and what they invoke (from settings)."""

    lambda_arn: str
    role_arn: str
    group_name: str
    region: str
    account_id: str
    partition: str = "aws"  # aws, aws-cn or aws-us-gov: part of every ARN this service owns
    retry_attempts: int = 2
    max_event_age_seconds: int = 3600
    dead_letter_arn: str | None = None
    callback_path: str = "/api/v1/tasks/callback"
    callback_secret: str | None = None
    known_actions: frozenset[str] | None = None  # SCHEDULER_KNOWN_ACTIONS; None: not set
    # The in-process worker's registry (local backend), read at each check, so an action
    # registered after start-up counts; used when known_actions is None.
    action_catalog: Callable[[], Iterable[str]] | None = None
    worker_has_ledger: bool = True  # overlap="skip" needs it (local: LEDGER_DB_PATH)


def own_arn(target: ServiceTarget, schedule_arn: str) -> ScheduleArn | None:
    """The parsed ARN if it names a schedule in this service's partition, region,
    account and group; None (a 404 to the client) for any other."""
    arn = ScheduleArn.parse(schedule_arn)
    ours = {
        "partition": target.partition,
        "region": target.region,
        "account": target.account_id,
        "group": target.group_name,
    }
    differing = [part for part, value in ours.items() if getattr(arn, part) != value]
    if differing:
        logger.warning(
            "refused to touch a schedule of another %s: %s", "/".join(differing), schedule_arn
        )
        return None
    return arn
