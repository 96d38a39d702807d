"""EventBridge with the schedule table (SCHEDULE_TABLE) kept beside it: every create,
update and delete is written to the table around the EventBridge call, in the order
the package's docstring describes (index/__init__.py), so that a failure at any step is
healed, not left."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, TypeVar

from scheduler_api.backends.aws.eventbridge import EventBridgeBackend
from scheduler_api.backends.aws.index.entry import Entry
from scheduler_api.backends.aws.index.query import IndexQuery
from scheduler_api.backends.aws.index.repair import ReadRepair
from scheduler_api.backends.aws.index.writes import IndexWrites
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
        self.writes = IndexWrites(dynamodb, table_name, clock, self.truth)
        self.query = IndexQuery(dynamodb, table_name)
        self.read_repair = ReadRepair(self.writes, clock)
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
        intent = self.writes.intend(spec.group_name, spec.name, lambda _: entry)
        arn = self._change(
            spec.group_name, spec.name, lambda: self.eventbridge.create_schedule(spec)
        )
        self.writes.confirm(spec.group_name, spec.name, intent)
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
            intent = self.writes.intend(group, name, updated)
        else:
            intent = self.writes.intend_at(group, name, _index_rev(expect_revision), updated)
        arn = self._change(
            spec.group_name, spec.name, lambda: self.eventbridge.update_schedule(spec)
        )
        self.writes.confirm(spec.group_name, spec.name, intent)
        return arn

    def delete_schedule(self, group_name: str, name: str) -> None:
        intent = self.writes.intend(group_name, name, lambda current: current)
        self._change(group_name, name, lambda: self.eventbridge.delete_schedule(group_name, name))
        self.writes.confirm(group_name, name, intent, removed=True)

    def _change(self, group_name: str, name: str, call: Callable[[], T]) -> T:
        """Step 2; if EventBridge refuses or fails, the entry is healed from what it holds."""
        try:
            return call()
        except SchedulerError:
            self.writes.heal_quietly(group_name, name)
            raise

    def find_schedules(
        self, group_name: str, where: ScheduleFilter, *, limit: int, next_token: str | None
    ) -> SchedulePage:
        return self.query.find(
            group_name, where, limit=limit, next_token=next_token, repair=self.read_repair.repair
        )

    def count_by_state(self, group_name: str) -> dict[str, int]:
        return self.query.count_by_state(group_name)

    def get_schedule(self, group_name: str, name: str) -> Schedule:
        """EventBridge's schedule, at the revision of its index entry read just before
        (the rev first: a change made after that read then fails the rev's condition)."""
        stored = self.writes.current(group_name, name)
        schedule = self.eventbridge.get_schedule(group_name, name)
        if stored is None:
            revision = _NO_ENTRY
        elif stored.pending_at is not None:
            revision = _PENDING  # another writer is between its steps: not a version to build on
        else:
            revision = _REVISION + stored.rev
        return replace(schedule, revision=revision)

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
        """What EventBridge holds, None if nothing (the writes' `fetch`: what heal trusts)."""
        try:
            return self.eventbridge.get_schedule(group_name, name)
        except ScheduleNotFoundError:
            return None
