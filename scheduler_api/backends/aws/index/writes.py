"""The write protocol: intend, then (after the EventBridge call) confirm, or heal from
EventBridge; every write is the one transaction of `replace_entry`. The order and what
each failure leaves are in the package's docstring (index/__init__.py)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from scheduler_api.backends.aws.client_errors import aws_errors
from scheduler_api.backends.aws.index.entry import Entry
from scheduler_api.backends.aws.index.items import Stored, items_of, stored_of, views_of
from scheduler_api.backends.aws.index.keys import ANCHOR, SERVICE, partition_key
from scheduler_api.domain.clock import Clock
from scheduler_api.domain.errors import (
    BackendUnavailableError,
    RevisionConflictError,
    SchedulerError,
)
from scheduler_api.domain.schedules import Schedule

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

logger = logging.getLogger(__name__)

# Longer than an EventBridge call can take with botocore's retries (timeouts 5 + 15 s,
# up to AWS_MAX_ATTEMPTS tries): a pending mark older than this has no writer left.
PENDING_GRACE = timedelta(minutes=2)
WRITE_TRIES = 5

Fetch = Callable[[str, str], Schedule | None]


@dataclass(frozen=True)
class Intent:
    """What step 1 wrote: the rev step 3 is conditioned on, and the entry (None: none)."""

    rev: str
    entry: Entry | None


class IndexWrites:
    def __init__(
        self,
        client: DynamoDBClient,
        table: str,
        clock: Clock,
        fetch: Fetch,
        *,
        pending_grace: timedelta = PENDING_GRACE,
    ) -> None:
        self._client = client
        self.table = table
        self._clock = clock
        self._fetch = fetch  # EventBridge's word: GetSchedule, None when there is none
        self._grace = pending_grace

    def intend(
        self, group: str, name: str, build: Callable[[Entry | None], Entry | None]
    ) -> Intent:
        """Step 1: mark build(current entry) pending. BackendUnavailableError if concurrent
        writes kept winning."""
        for _ in range(WRITE_TRIES):
            current = self.stored(group, name)
            written = None if current is None else current.entry
            expect = None if current is None else current.rev
            entry = build(written)
            rev = self.replace_entry(
                group, name, entry, expect=expect, pending=True, written=written
            )
            if rev is not None:
                return Intent(rev, entry)
        raise BackendUnavailableError("the schedule index is busy with this schedule; retry")

    def intend_at(
        self,
        group: str,
        name: str,
        expect: str | None,
        build: Callable[[Entry | None], Entry | None],
    ) -> Intent:
        """Step 1 of a change computed from the entry at rev `expect` (None: from no
        entry): RevisionConflictError, and nothing written, if the entry is no longer
        there, so that a change is never written over one it did not see."""
        current = self.stored(group, name)
        if (None if current is None else current.rev) != expect:
            raise RevisionConflictError("the schedule changed since it was read")
        written = None if current is None else current.entry
        entry = build(written)
        rev = self.replace_entry(group, name, entry, expect=expect, pending=True, written=written)
        if rev is None:
            raise RevisionConflictError("the schedule changed since it was read")
        return Intent(rev, entry)

    def confirm(self, group: str, name: str, intent: Intent, *, removed: bool = False) -> None:
        """Step 3: the intent's values unmarked (none if `removed`). Never raises: what it
        cannot write stays pending, for a read to heal."""
        entry = None if removed else intent.entry
        try:
            replaced = self.replace_entry(
                group, name, entry, expect=intent.rev, pending=False, written=intent.entry
            )
            if replaced is None:
                self.heal(group, name)  # another change came in between
        except SchedulerError:
            logger.warning("schedule index: %s/%s left pending; a later read heals it", group, name)

    def heal(self, group: str, name: str) -> None:
        """Make the entry what EventBridge says."""
        for _ in range(WRITE_TRIES):
            current = self.stored(group, name)  # the rev first, then EventBridge: see index/
            schedule = self._fetch(group, name)
            entry = None if schedule is None else Entry.of_schedule(schedule, self._clock())
            expect = None if current is None else current.rev
            written = None if current is None else current.entry
            replaced = self.replace_entry(
                group, name, entry, expect=expect, pending=False, written=written
            )
            if replaced is not None:
                return
        logger.warning(
            "schedule index: %s/%s changed while healing; a later read retries", group, name
        )

    def heal_quietly(self, group: str, name: str) -> None:
        """heal, after a failed EventBridge call: its own failure is logged, not raised."""
        try:
            self.heal(group, name)
        except SchedulerError:
            logger.warning("schedule index: %s/%s left pending; a later read heals it", group, name)

    def abandoned(self, pending_at: datetime, now: datetime) -> bool:
        """A pending mark older than the grace: its writer is gone, so a reader heals it."""
        return now - pending_at >= self._grace

    def current(self, group: str, name: str) -> Stored | None:
        """The entry as it stands once no writer is in the middle of a change: a pending
        mark older than the grace (its writer is gone) is healed first."""
        current = self.stored(group, name)
        pending_at = None if current is None else current.pending_at
        if pending_at is not None and self.abandoned(pending_at, self._clock()):
            self.heal(group, name)
            current = self.stored(group, name)
        return current

    def stored(self, group: str, name: str) -> Stored | None:
        with aws_errors(SERVICE, "GetItem", missing_is_not_found=False):
            response = self._client.get_item(
                TableName=self.table,
                Key={"pk": {"S": partition_key(group, name)}, "sk": {"S": ANCHOR}},
                ConsistentRead=True,
            )
        item = response.get("Item")
        return None if item is None else stored_of(item)

    # The one write: all of a schedule's items, conditioned on the rev last read.

    def replace_entry(
        self,
        group: str,
        name: str,
        entry: Entry | None,
        *,
        expect: str | None,
        pending: bool,
        written: Entry | None = None,
    ) -> str | None:
        """Write `entry` (None: remove it) if the anchor's rev is still `expect` (None: if
        there is no anchor). Returns the new rev, or None if the condition failed.

        `written`: the entry written with rev `expect`, when the caller has it. Its items
        are then known (every write replaces all of them in one transaction, so rev
        `expect` means exactly its views) and need no read; if the rev has moved on, the
        condition cancels the transaction whatever it deletes."""
        pk = partition_key(group, name)
        if written is not None:
            existing = set(views_of(written))
        elif expect is None:
            existing = set()  # no anchor, so no item: each write places or removes all of them
        else:
            existing = self._sort_keys(pk)
        rev = uuid.uuid4().hex
        items = {} if entry is None else items_of(entry, rev, self._clock() if pending else None)
        if expect is None:
            guard: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            guard = {
                "ConditionExpression": "#rev = :rev",
                "ExpressionAttributeNames": {"#rev": "rev"},
                "ExpressionAttributeValues": {":rev": {"S": expect}},
            }
        actions: list[Any] = []
        for sk, item in items.items():
            actions.append({"Put": {"TableName": self.table, "Item": item, **_if(sk, guard)}})
        for sk in sorted(existing - items.keys()):
            key = {"pk": {"S": pk}, "sk": {"S": sk}}
            actions.append({"Delete": {"TableName": self.table, "Key": key, **_if(sk, guard)}})
        if not actions:
            return rev
        try:
            self._client.transact_write_items(TransactItems=actions)
        except ClientError as exc:
            if _lost_race(exc):
                return None
            with aws_errors(SERVICE, "TransactWriteItems", missing_is_not_found=False):
                raise
        return rev

    def _sort_keys(self, pk: str) -> set[str]:
        with aws_errors(SERVICE, "Query", missing_is_not_found=False):
            response = self._client.query(
                TableName=self.table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": pk}},
                ProjectionExpression="sk",
                ConsistentRead=True,
            )
        return {item["sk"]["S"] for item in response["Items"]}


def _if(sk: str, guard: dict[str, Any]) -> dict[str, Any]:
    return guard if sk == ANCHOR else {}


def _lost_race(exc: ClientError) -> bool:
    """A transaction cancelled by our condition, or by a concurrent transaction."""
    if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return False
    reasons = exc.response.get("CancellationReasons") or []
    codes = {reason.get("Code") for reason in reasons}
    message = str(exc.response.get("Error", {}).get("Message", ""))
    racing = ("ConditionalCheckFailed", "TransactionConflict")
    return bool(codes & set(racing)) or any(code in message for code in racing)
