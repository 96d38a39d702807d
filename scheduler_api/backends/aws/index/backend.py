"""EventBridge with the schedule table (SCHEDULE_TABLE) kept beside it: every create,
update and delete is written to the table around the EventBridge call, in the order
schedule_table describes, so that a failure at any step is healed, not left."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from scheduler_api.backends.aws.eventbridge import EventBridgeBackend
from scheduler_api.backends.aws.index.table import Entry, ScheduleTable
from scheduler_api.domain.clock import Clock
from scheduler_api.domain.errors import (
    RevisionConflictError,
    ScheduleNotFoundError,
    SchedulerError,
)
from scheduler_api.domain.schedules import (
    Schedule,
    ScheduleFilter,
    SchedulePage,
    ScheduleSpec,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

T = TypeVar("T")
_REVISION = "index:"
_NO_ENTRY = "index:-"  # a schedule the index does not hold yet (made before it, say)
_PENDING = "index:pending"


def _index_rev(revision: str) -> str | None:
    """The entry rev a Schedule.revision of ours names (None: no entry)."""
    if revision == _NO_ENTRY:
        return None
    if revision == _PENDING or not revision.startswith(_REVISION):
        raise RevisionConflictError("the schedule is being changed by another request")
    return revision.removeprefix(_REVISION)


class IndexedBackend:
    def __init__(
        self,
        eventbridge: EventBridgeBackend,
        dynamodb: DynamoDBClient,
        table_name: str,
        clock: Clock,
        arn_of: Callable[[str, str], str],
    ) -> None:
        self.eventbridge = eventbridge
        self.table = ScheduleTable(dynamodb, table_name, clock, self.truth)
        self.clock = clock
        self._arn_of = arn_of

    def create_schedule(self, spec: ScheduleSpec) -> str:
        now = self.clock()
        entry = Entry.of(
            self._arn_of(spec.group_name, spec.name),
            spec,
            anchor=now,
            now=now,
            created_at=now,
            updated_at=now,
        )
        intent = self.table.intend(spec.group_name, spec.name, lambda _: entry)
        arn = self._change(
            spec.group_name, spec.name, lambda: self.eventbridge.create_schedule(spec)
        )
        self.table.settle(spec.group_name, spec.name, intent)
        return arn

    def update_schedule(self, spec: ScheduleSpec, *, expect_revision: str | None = None) -> str:
        """With `expect_revision`, step 1 is conditioned on the index entry's rev that
        get_schedule read, so of two changes computed from one read only the first is
        made (DynamoDB checks the condition and writes in one transaction)."""
        now = self.clock()
        arn = self._arn_of(spec.group_name, spec.name)

        def updated(current: Entry | None) -> Entry:
            created = None if current is None else current.created_at
            return Entry.of(arn, spec, anchor=now, now=now, created_at=created, updated_at=now)

        group, name = spec.group_name, spec.name
        if expect_revision is None:
            intent = self.table.intend(group, name, updated)
        else:
            intent = self.table.intend_at(group, name, _index_rev(expect_revision), updated)
        arn = self._change(
            spec.group_name, spec.name, lambda: self.eventbridge.update_schedule(spec)
        )
        self.table.settle(spec.group_name, spec.name, intent)
        return arn

    def delete_schedule(self, group_name: str, name: str) -> None:
        intent = self.table.intend(group_name, name, lambda current: current)
        self._change(group_name, name, lambda: self.eventbridge.delete_schedule(group_name, name))
        self.table.settle(group_name, name, intent, removed=True)

    def _change(self, group_name: str, name: str, call: Callable[[], T]) -> T:
        """Step 2; if EventBridge refuses or fails, the entry is healed from what it holds."""
        try:
            return call()
        except SchedulerError:
            self.table.heal_quietly(group_name, name)
            raise

    def find_schedules(
        self, group_name: str, where: ScheduleFilter, *, limit: int, next_token: str | None
    ) -> SchedulePage:
        return self.table.find(group_name, where, limit=limit, next_token=next_token)

    def count_by_state(self, group_name: str) -> dict[str, int]:
        return self.table.count_by_state(group_name)

    def get_schedule(self, group_name: str, name: str) -> Schedule:
        """EventBridge's schedule, at the revision of its index entry read just before
        (the rev first: a change made after that read then fails the rev's condition)."""
        stored = self.table.settled(group_name, name)
        schedule = self.eventbridge.get_schedule(group_name, name)
        if stored is None:
            revision = _NO_ENTRY
        elif stored.pending_at is not None:
            revision = _PENDING  # another writer is between its steps: not a version to build on
        else:
            revision = _REVISION + stored.rev
        return replace(schedule, revision=revision)

    def run_now(self, schedule: Schedule, now: datetime) -> str:
        return self.eventbridge.run_now(schedule, now)

    def list_schedules(
        self,
        group_name: str,
        *,
        limit: int,
        next_token: str | None = None,
        name_prefix: str | None = None,
    ) -> SchedulePage:
        return self.eventbridge.list_schedules(
            group_name, limit=limit, next_token=next_token, name_prefix=name_prefix
        )

    def truth(self, group_name: str, name: str) -> Schedule | None:
        """What EventBridge holds, None if nothing (the table's `fetch`)."""
        try:
            return self.eventbridge.get_schedule(group_name, name)
        except ScheduleNotFoundError:
            return None
