"""The AWS backend's schedule index: a DynamoDB table (SCHEDULE_TABLE) that answers what
ListSchedules cannot (by user, action, label, next fire), one Query per page.

Layout. Each schedule is a few items under one partition key, `{group}/{name}`: one per
view it can be found by (sort key `all`, `user`, `action`, `label#<key>`), each a full
copy of what a list shows. One global secondary index, `by_view`, is keyed (view, sort):
a view is e.g. `{group}|user|456`, and sort is `{next fire}|{task_id}|{name}` (`~` for a
schedule that will not fire), so every filter is one Query in next-fire order, and a page
token is the last item's sort key (keyset: stable while schedules come and go).

EventBridge stays the source of truth. Every write replaces all of a schedule's items in
one transaction, conditioned on the `rev` (a random id) of its `all` item as last read, so
no write overwrites a change it did not see. A change goes in three steps:
  1. intend: write the new values, marked pending (with the time);
  2. call EventBridge;
  3. settle: write them again unmarked, if the rev is still the intent's.
What a failure in between leaves is repaired, never left:
  - step 1 fails: the request fails, and EventBridge was not touched;
  - step 2 fails: the entry is healed at once from EventBridge (GetSchedule);
  - the process dies after step 1 or 2, or step 3 fails: the entry stays pending, and the
    first read after PENDING_GRACE heals it (sooner, a repeated request does);
  - another change came in between (step 3's condition fails): heal.
Healing reads the rev, then EventBridge, then writes what EventBridge said conditioned on
that rev, so it never overwrites a newer change. Readers also move on the next fire of
recurring schedules whose time has passed, and drop one-time schedules that EventBridge
deleted after they ran (ActionAfterCompletion=DELETE), checking each at most every
RECHECK. `make reindex` rebuilds the whole table from EventBridge.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from scheduler_api.backends.aws.errors import aws_errors
from scheduler_api.domain.clock import Clock
from scheduler_api.domain.errors import (
    BackendUnavailableError,
    RevisionConflictError,
    SchedulerError,
)
from scheduler_api.domain.fires import upcoming_fire
from scheduler_api.domain.page_tokens import decode_fields, encode_token, token_text
from scheduler_api.domain.schedules import (
    Schedule,
    ScheduleFilter,
    ScheduleKind,
    ScheduleListing,
    SchedulePage,
    ScheduleSpec,
)
from scheduler_api.domain.task_input import kind_of, labels_in, task_body

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

logger = logging.getLogger(__name__)

SERVICE = "DynamoDB"
VIEW_INDEX = "by_view"
# The table `make deploy-lambda` creates (and the tests create on moto).
KEY_SCHEMA: list[Any] = [
    {"AttributeName": "pk", "KeyType": "HASH"},
    {"AttributeName": "sk", "KeyType": "RANGE"},
]
ATTRIBUTES: list[Any] = [
    {"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk", "view", "sort")
]
GLOBAL_INDEXES: list[Any] = [
    {
        "IndexName": VIEW_INDEX,
        "KeySchema": [
            {"AttributeName": "view", "KeyType": "HASH"},
            {"AttributeName": "sort", "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "ALL"},
    }
]

ANCHOR = "all"  # the item whose rev guards the whole schedule
NEVER = "~"  # sorts after every time: paused, or no fire left
LOWEST = "!"  # sorts before every time (a key condition's value cannot be empty)
# Longer than an EventBridge call can take with botocore's retries (timeouts 5 + 15 s,
# up to AWS_MAX_ATTEMPTS tries): a pending mark older than this has no writer left.
PENDING_GRACE = timedelta(minutes=2)
RECHECK = timedelta(minutes=1)  # a one-time schedule past its time, until AWS deletes it
WRITE_TRIES = 5
REPAIR_ROUNDS = 5
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)

Fetch = Callable[[str, str], Schedule | None]


@dataclass(frozen=True)
class Entry:
    """What the table holds of one schedule."""

    arn: str
    name: str
    group_name: str
    task_id: str | None
    user_id: int | None
    action: str | None
    labels: dict[str, str]
    state: str
    kind: ScheduleKind
    expression: str
    timezone: str
    next_fire: datetime | None
    anchor: datetime  # where a rate() counts from
    created_at: datetime | None = None
    updated_at: datetime | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None
    checked_at: datetime | None = None  # one-time, past its time: last seen in EventBridge

    @classmethod
    def of(
        cls,
        arn: str,
        spec: ScheduleSpec,
        *,
        anchor: datetime,
        now: datetime,
        created_at: datetime | None = None,
        updated_at: datetime | None = None,
    ) -> Entry:
        body = task_body(spec)
        task_id = body.get("task_id")
        user_id = body.get("user_id")
        return cls(
            arn=arn,
            name=spec.name,
            group_name=spec.group_name,
            task_id=None if task_id is None else str(task_id),
            user_id=user_id if isinstance(user_id, int) else None,
            action=body.get("action") if isinstance(body.get("action"), str) else None,
            labels=labels_in(body),
            state=spec.state,
            kind=kind_of(spec.expression),
            expression=spec.expression,
            timezone=spec.timezone,
            next_fire=upcoming_fire(
                spec.expression,
                spec.timezone,
                state=spec.state,
                anchor=anchor,
                start_date=spec.start_date,
                end_date=spec.end_date,
                now=now,
            ),
            anchor=anchor,
            created_at=created_at,
            updated_at=updated_at,
            start_date=spec.start_date,
            end_date=spec.end_date,
        )

    @classmethod
    def of_schedule(cls, schedule: Schedule, now: datetime) -> Entry:
        """From what EventBridge says (GetSchedule)."""
        anchor = schedule.updated_at or schedule.created_at or now
        entry = cls.of(
            schedule.arn,
            schedule.spec,
            anchor=anchor,
            now=now,
            created_at=schedule.created_at,
            updated_at=schedule.updated_at,
        )
        return replace(entry, checked_at=now) if entry.is_past(now) else entry

    def is_past(self, now: datetime) -> bool:
        return self.next_fire is not None and self.next_fire < now

    def refreshed(self, now: datetime) -> Entry:
        """A recurring schedule's next fire from now on."""
        fire = upcoming_fire(
            self.expression,
            self.timezone,
            state=self.state,
            anchor=self.anchor,
            start_date=self.start_date,
            end_date=self.end_date,
            now=now,
        )
        return replace(self, next_fire=fire)

    @property
    def sort(self) -> str:
        fire = NEVER if self.next_fire is None else time_key(self.next_fire)
        return f"{fire}|{self.task_id or ''}|{self.name}"

    def listing(self) -> ScheduleListing:
        return ScheduleListing(
            arn=self.arn,
            name=self.name,
            group_name=self.group_name,
            task_id=self.task_id,
            user_id=self.user_id,
            action=self.action,
            labels=self.labels,
            state=self.state,
            kind=self.kind,
            expression=self.expression,
            timezone=self.timezone,
            next_fire=self.next_fire,
            created_at=self.created_at,
            updated_at=self.updated_at,
        )


@dataclass(frozen=True)
class Stored:
    entry: Entry
    rev: str
    pending_at: datetime | None
    sort: str


@dataclass(frozen=True)
class Intent:
    rev: str
    entry: Entry | None


def time_key(when: datetime) -> str:
    """Fixed width, so that string order is time order (to the microsecond)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return f"{(when - _EPOCH) // _SECOND:012d}.{when.microsecond:06d}"


class ScheduleTable:
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

    # Writes: intend, settle, heal (see the module's docstring for the order).

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
            rev = self._replace(group, name, entry, expect=expect, pending=True, written=written)
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
        rev = self._replace(group, name, entry, expect=expect, pending=True, written=written)
        if rev is None:
            raise RevisionConflictError("the schedule changed since it was read")
        return Intent(rev, entry)

    def settled(self, group: str, name: str) -> Stored | None:
        """The entry as it stands once no writer is in the middle of a change: a pending
        mark older than the grace (its writer is gone) is healed first."""
        current = self.stored(group, name)
        pending_at = None if current is None else current.pending_at
        if pending_at is not None and self._clock() - pending_at >= self._grace:
            self.heal(group, name)
            current = self.stored(group, name)
        return current

    def settle(self, group: str, name: str, intent: Intent, *, removed: bool = False) -> None:
        """Step 3: the intent's values unmarked (none if `removed`). Never raises: what it
        cannot write stays pending, for a read to heal."""
        entry = None if removed else intent.entry
        try:
            replaced = self._replace(
                group, name, entry, expect=intent.rev, pending=False, written=intent.entry
            )
            if replaced is None:
                self.heal(group, name)  # another change came in between
        except SchedulerError:
            logger.warning("schedule index: %s/%s left pending; a later read heals it", group, name)

    def heal(self, group: str, name: str) -> None:
        """Make the entry what EventBridge says."""
        for _ in range(WRITE_TRIES):
            current = self.stored(group, name)  # the rev first, then EventBridge: see above
            schedule = self._fetch(group, name)
            entry = None if schedule is None else Entry.of_schedule(schedule, self._clock())
            expect = None if current is None else current.rev
            written = None if current is None else current.entry
            replaced = self._replace(
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

    def stored(self, group: str, name: str) -> Stored | None:
        with aws_errors(SERVICE, "GetItem", missing_is_not_found=False):
            response = self._client.get_item(
                TableName=self.table,
                Key={"pk": {"S": _pk(group, name)}, "sk": {"S": ANCHOR}},
                ConsistentRead=True,
            )
        item = response.get("Item")
        return None if item is None else _stored(item)

    def entries(self, group: str) -> Iterator[Stored]:
        """Every entry of the group, in next-fire order (for reindex)."""
        token: str | None = None
        while True:
            rows = self._query(group, ScheduleFilter(), limit=1000, after=token)
            yield from rows[:1000]
            if len(rows) <= 1000:
                return
            token = rows[999].sort

    # Reads.

    def count_by_state(self, group: str) -> dict[str, int]:
        """A COUNT query of the group's `all` view (it reads every entry of the group)."""
        counts = {"ENABLED": 0, "DISABLED": 0}
        request: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": VIEW_INDEX,
            "KeyConditionExpression": "#view = :view",
            "FilterExpression": "#state = :disabled",
            "ExpressionAttributeNames": {"#view": "view", "#state": "state"},
            "ExpressionAttributeValues": {
                ":view": {"S": f"{group}|all"},
                ":disabled": {"S": "DISABLED"},
            },
            "Select": "COUNT",
        }
        while True:
            with aws_errors(SERVICE, "Query", missing_is_not_found=False):
                response = self._client.query(**request)
            counts["DISABLED"] += response["Count"]
            counts["ENABLED"] += response["ScannedCount"] - response["Count"]
            if "LastEvaluatedKey" not in response:
                return counts
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def find(
        self, group: str, where: ScheduleFilter, *, limit: int, next_token: str | None
    ) -> SchedulePage:
        after = None if next_token is None else _decode(next_token)
        for _ in range(REPAIR_ROUNDS):
            rows = self._query(group, where, limit=limit, after=after)
            if not self._repair(rows, self._clock()):
                break
        items = [row.entry.listing() for row in rows[:limit]]
        token = _encode(rows[limit - 1].sort) if len(rows) > limit else None
        return SchedulePage(items, token)

    def _repair(self, rows: list[Stored], now: datetime) -> bool:
        """Heal what a dead writer left, refresh passed next fires, drop one-time schedules
        AWS deleted after they ran. True if anything changed (the page is read again)."""
        changed = False
        for row in rows:
            entry = row.entry
            group, name = entry.group_name, entry.name
            if row.pending_at is not None:
                if now - row.pending_at >= self._grace:
                    self.heal(group, name)
                    changed = True
            elif entry.is_past(now) and entry.kind == "one-time":
                if entry.checked_at is None or now - entry.checked_at >= RECHECK:
                    self.heal(group, name)
                    changed = True
            elif entry.is_past(now):
                self._replace(
                    group, name, entry.refreshed(now), expect=row.rev, pending=False, written=entry
                )
                changed = True
        return changed

    def _query(
        self, group: str, where: ScheduleFilter, *, limit: int, after: str | None
    ) -> list[Stored]:
        """Up to limit + 1 matches sorted after `after`."""
        view, conditions, names, values = _plan(group, where)
        lower = max(time_key(where.next_after) if where.next_after else LOWEST, after or LOWEST)
        upper = time_key(where.next_before) if where.next_before else NEVER + NEVER
        if where.next_after and not where.next_before:
            upper = NEVER  # a schedule that will not fire is not after anything
        if lower > upper:
            return []
        request: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": VIEW_INDEX,
            "KeyConditionExpression": "#view = :view AND #sort BETWEEN :lower AND :upper",
            "ExpressionAttributeNames": {"#view": "view", "#sort": "sort", **names},
            "ExpressionAttributeValues": {
                ":view": {"S": view},
                ":lower": {"S": lower},
                ":upper": {"S": upper},
                **values,
            },
            # Without a filter every item read is a match; with one, read wider pages.
            "Limit": limit + 1 if not conditions else max(limit + 1, 500),
        }
        if conditions:
            request["FilterExpression"] = " AND ".join(conditions)
        rows: list[Stored] = []
        while len(rows) <= limit:
            with aws_errors(SERVICE, "Query", missing_is_not_found=False):
                response = self._client.query(**request)
            rows += [_stored(item) for item in response["Items"] if item["sort"]["S"] != after]
            if "LastEvaluatedKey" not in response:
                break
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return rows[: limit + 1]

    # The one write: all of a schedule's items, conditioned on the rev last read.

    def _replace(
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
        pk = _pk(group, name)
        existing = set(_views(written)) if written is not None else self._sort_keys(pk)
        rev = uuid.uuid4().hex
        items = {} if entry is None else _items(entry, rev, self._clock() if pending else None)
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


def _pk(group: str, name: str) -> str:
    return f"{group}/{name}"


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


def _plan(
    group: str, where: ScheduleFilter
) -> tuple[str, list[str], dict[str, str], dict[str, Any]]:
    """The view to query (the most selective filter) and the rest as filter conditions."""
    labels = dict(where.labels)
    user_id, action = where.user_id, where.action
    if labels:
        key = next(iter(labels))
        view = f"{group}|label|{key}={labels.pop(key)}"
    elif user_id is not None:
        view, user_id = f"{group}|user|{user_id}", None
    elif action is not None:
        view, action = f"{group}|action|{action}", None
    else:
        view = f"{group}|all"
    conditions: list[str] = []
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    equal: dict[str, Any] = {
        "user_id": None if user_id is None else {"N": str(user_id)},
        "action": None if action is None else {"S": action},
        "state": None if where.state is None else {"S": where.state},
        "kind": None if where.kind is None else {"S": where.kind},
    }
    for field, value in equal.items():
        if value is not None:
            conditions.append(f"#{field} = :{field}")
            names[f"#{field}"] = field
            values[f":{field}"] = value
    for n, (key, value) in enumerate(labels.items()):
        conditions.append(f"#labels.#label{n} = :label{n}")
        names |= {"#labels": "labels", f"#label{n}": key}
        values[f":label{n}"] = {"S": value}
    if where.task_id_prefix:
        conditions.append("begins_with(#task_id, :task_id_prefix)")
        names["#task_id"] = "task_id"
        values[":task_id_prefix"] = {"S": where.task_id_prefix}
    return view, conditions, names, values


def _views(entry: Entry) -> dict[str, str]:
    group = entry.group_name
    views = {ANCHOR: f"{group}|all"}
    if entry.user_id is not None:
        views["user"] = f"{group}|user|{entry.user_id}"
    if entry.action:
        views["action"] = f"{group}|action|{entry.action}"
    for key, value in entry.labels.items():
        views[f"label#{key}"] = f"{group}|label|{key}={value}"
    return views


def _items(entry: Entry, rev: str, pending_at: datetime | None) -> dict[str, dict[str, Any]]:
    attributes: dict[str, Any] = {
        "pk": {"S": _pk(entry.group_name, entry.name)},
        "sort": {"S": entry.sort},
        "rev": {"S": rev},
        "arn": {"S": entry.arn},
        "name": {"S": entry.name},
        "group_name": {"S": entry.group_name},
        "labels": {"M": {key: {"S": value} for key, value in entry.labels.items()}},
        "state": {"S": entry.state},
        "kind": {"S": entry.kind},
        "expression": {"S": entry.expression},
        "timezone": {"S": entry.timezone},
        "anchor": _time(entry.anchor),
    }
    optional: dict[str, Any] = {
        "task_id": None if entry.task_id is None else {"S": entry.task_id},
        "user_id": None if entry.user_id is None else {"N": str(entry.user_id)},
        "action": None if entry.action is None else {"S": entry.action},
        "pending_at": None if pending_at is None else _time(pending_at),
    }
    for field in ("next_fire", "created_at", "updated_at", "start_date", "end_date", "checked_at"):
        value = getattr(entry, field)
        optional[field] = None if value is None else _time(value)
    attributes |= {key: value for key, value in optional.items() if value is not None}
    return {
        sk: {**attributes, "sk": {"S": sk}, "view": {"S": view}}
        for sk, view in _views(entry).items()
    }


def _stored(item: dict[str, Any]) -> Stored:
    def text(name: str) -> str | None:
        value = item.get(name)
        return None if value is None else str(value["S"])

    def when(name: str) -> datetime | None:
        value = item.get(name)
        return None if value is None else datetime.fromtimestamp(float(value["N"]), UTC)

    user_id = item.get("user_id")
    anchor = when("anchor")
    assert anchor is not None  # every item has one
    entry = Entry(
        arn=str(item["arn"]["S"]),
        name=str(item["name"]["S"]),
        group_name=str(item["group_name"]["S"]),
        task_id=text("task_id"),
        user_id=None if user_id is None else int(user_id["N"]),
        action=text("action"),
        labels={key: str(value["S"]) for key, value in item["labels"]["M"].items()},
        state=str(item["state"]["S"]),
        kind="one-time" if item["kind"]["S"] == "one-time" else "recurring",
        expression=str(item["expression"]["S"]),
        timezone=str(item["timezone"]["S"]),
        next_fire=when("next_fire"),
        anchor=anchor,
        created_at=when("created_at"),
        updated_at=when("updated_at"),
        start_date=when("start_date"),
        end_date=when("end_date"),
        checked_at=when("checked_at"),
    )
    return Stored(entry, str(item["rev"]["S"]), when("pending_at"), str(item["sort"]["S"]))


def _time(value: datetime) -> dict[str, str]:
    return {"N": f"{value.timestamp():.6f}"}


def _encode(sort: str) -> str:
    return encode_token([sort])


def _decode(token: str) -> str:
    """[sort], as _encode wrote it: anything else is refused (see page_tokens)."""
    (sort,) = decode_fields(token, 1)
    return token_text(sort)
