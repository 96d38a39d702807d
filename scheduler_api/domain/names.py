"""Schedule names and ARNs: derived deterministically, parsed strictly."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

MAX_NAME_LENGTH = 64
_SAFE_NAME = re.compile(r"^[0-9A-Za-z_.-]{1,64}$")
_UNSAFE_CHARS = re.compile(r"[^0-9A-Za-z_.-]")
_HASH_LENGTH = 16
_SCHEDULE_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):scheduler:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"schedule/(?P<group>[0-9A-Za-z_.-]{1,64})/(?P<name>[0-9A-Za-z_.-]{1,64})$"
)


def schedule_name_for(task_id: str) -> str:
    """The schedule name for a task: the task_id itself when AWS accepts it as a name.

    Otherwise (a ':' or more than 64 characters) a readable prefix plus a hash of the
    whole task_id, so different task_ids never share a name and a retried POST for the
    same task_id always lands on the same one.
    """
    if _SAFE_NAME.match(task_id):
        return task_id
    digest = hashlib.sha256(task_id.encode()).hexdigest()[:_HASH_LENGTH]
    prefix = _UNSAFE_CHARS.sub("_", task_id)[: MAX_NAME_LENGTH - _HASH_LENGTH - 1]
    return f"{prefix}-{digest}"


class InvalidScheduleArnError(ValueError):
    """The string is not an EventBridge Scheduler schedule ARN."""


@dataclass(frozen=True)
class ScheduleArn:
    partition: str
    region: str
    account: str
    group: str
    name: str

    @classmethod
    def parse(cls, text: str) -> ScheduleArn:
        match = _SCHEDULE_ARN.match(text)
        if not match:
            raise InvalidScheduleArnError(
                "expected arn:aws:scheduler:<region>:<account>:schedule/<group>/<name>"
            )
        return cls(**match.groupdict())

    def __str__(self) -> str:
        return (
            f"arn:{self.partition}:scheduler:{self.region}:{self.account}:"
            f"schedule/{self.group}/{self.name}"
        )
