"""Reading the index: the planner (which view a filter is one Query of), the clause
builder (the key range and the filter), and paging through the view in next-fire order.
A page token is the last item's sort key (keyset: stable while schedules come and go)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from scheduler_api.backends.aws.client_errors import aws_errors
from scheduler_api.backends.aws.index.items import (
    Stored,
    is_full,
    label_digest,
    pointed_at,
    stored_of,
    through_view,
)
from scheduler_api.backends.aws.index.keys import LOWEST, NEVER, SERVICE, VIEW_INDEX, time_key
from scheduler_api.domain.page_tokens import decode_fields, encode_token, token_text
from scheduler_api.domain.schedules import ScheduleFilter, SchedulePage

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

REPAIR_ROUNDS = 5  # a page read again at most this often while its reader repairs it
BATCH_GET_MOST = 100  # BatchGetItem's most keys per request

Repair = Callable[[list[Stored]], bool]  # True if it changed any row (the page is re-read)


class IndexQuery:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self.table = table

    def find(
        self,
        group: str,
        where: ScheduleFilter,
        *,
        limit: int,
        next_token: str | None,
        repair: Repair,
    ) -> SchedulePage:
        """One page, read again while `repair` changes what it read (repair.py)."""
        after = None if next_token is None else _decode(next_token)
        for _ in range(REPAIR_ROUNDS):
            rows = self.rows(group, where, limit=limit, after=after)
            if not repair(rows):
                break
        items = [row.entry.listing() for row in rows[:limit]]
        token = _encode(rows[limit - 1].sort) if len(rows) > limit else None
        return SchedulePage(items, token)

    def entries(self, group: str) -> Iterator[Stored]:
        """Every entry of the group, in next-fire order (for reindex)."""
        token: str | None = None
        while True:
            rows = self.rows(group, ScheduleFilter(), limit=1000, after=token)
            yield from rows[:1000]
            if len(rows) <= 1000:
                return
            token = rows[999].sort

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

    def rows(
        self, group: str, where: ScheduleFilter, *, limit: int, after: str | None
    ) -> list[Stored]:
        """Up to limit + 1 matches sorted after `after`."""
        request = query_request(self.table, group, where, limit=limit, after=after)
        if request is None:
            return []
        rows: list[Stored] = []
        while len(rows) <= limit:
            with aws_errors(SERVICE, "Query", missing_is_not_found=False):
                response = self._client.query(**request)
            found = [item for item in response["Items"] if item["sort"]["S"] != after]
            rows += self._entries_of(found, where)
            if "LastEvaluatedKey" not in response:
                break
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return rows[: limit + 1]

    def _entries_of(self, items: list[dict[str, Any]], where: ScheduleFilter) -> list[Stored]:
        """The entries a page of a view's items stands for, in its order: a full item as
        it is, a pointer as the anchor it points to holds now (read consistently), kept
        only if that still matches the filter (a pointer is one write behind in the
        eventually consistent index, or a label digest matched by chance)."""
        anchors = self._anchors([pointed_at(item) for item in items if not is_full(item)])
        entries: list[Stored] = []
        for item in items:
            if is_full(item):
                entries.append(stored_of(item))
                continue
            anchor = anchors.get(str(item["pk"]["S"]))
            if anchor is not None and matches(where, anchor):
                entries.append(through_view(anchor, item))
        return entries

    def _anchors(self, keys: list[dict[str, Any]]) -> dict[str, Stored]:
        """The anchors at these keys, by partition key (a missing one: none)."""
        found: dict[str, Stored] = {}
        for start in range(0, len(keys), BATCH_GET_MOST):
            pending: Any = {
                self.table: {"Keys": keys[start : start + BATCH_GET_MOST], "ConsistentRead": True}
            }
            while pending:
                with aws_errors(SERVICE, "BatchGetItem", missing_is_not_found=False):
                    response = self._client.batch_get_item(RequestItems=pending)
                for item in response["Responses"].get(self.table, []):
                    found[str(item["pk"]["S"])] = stored_of(item)
                pending = response.get("UnprocessedKeys") or None
        return found


def matches(where: ScheduleFilter, stored: Stored) -> bool:
    """Whether an entry has what the filter asks of it (but the next-fire window, which
    the view's sort key answered)."""
    entry = stored.entry
    wanted: list[bool] = [
        where.user_id is None or entry.user_id == where.user_id,
        where.action is None or entry.action == where.action,
        where.state is None or entry.state == where.state,
        where.kind is None or entry.kind == where.kind,
        all(entry.labels.get(key) == value for key, value in where.labels.items()),
        not where.task_id_prefix or (entry.task_id or "").startswith(where.task_id_prefix),
    ]
    return all(wanted)


def sort_range(where: ScheduleFilter, after: str | None) -> tuple[str, str]:
    """The key condition's bounds on `sort`: the next-fire window, past the page token."""
    lower = max(time_key(where.next_after) if where.next_after else LOWEST, after or LOWEST)
    upper = time_key(where.next_before) if where.next_before else NEVER + NEVER
    if where.next_after and not where.next_before:
        upper = NEVER  # a schedule that will not fire is not after anything
    return lower, upper


def query_request(
    table: str, group: str, where: ScheduleFilter, *, limit: int, after: str | None
) -> dict[str, Any] | None:
    """The Query of the planned view for up to limit + 1 matches sorted after `after`;
    None when no sort key can be in the range (nothing to ask)."""
    view, conditions, names, values = plan(group, where)
    lower, upper = sort_range(where, after)
    if lower > upper:
        return None
    request: dict[str, Any] = {
        "TableName": table,
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
    return request


def plan(
    group: str, where: ScheduleFilter
) -> tuple[str, list[str], dict[str, str], dict[str, Any]]:
    """The view to query (the most selective filter: a label, then user, then action) and
    the rest as filter conditions, with their attribute names and values."""
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
        # A pointer holds the label's digest; a full item (the anchor, or a view item of
        # the layout before pointers) holds the labels themselves.
        conditions.append(f"(contains(#digests, :digest{n}) OR #labels.#label{n} = :label{n})")
        names |= {"#digests": "label_digests", "#labels": "labels", f"#label{n}": key}
        values[f":digest{n}"] = {"S": label_digest(key, value)}
        values[f":label{n}"] = {"S": value}
    if where.task_id_prefix:
        conditions.append("begins_with(#task_id, :task_id_prefix)")
        names["#task_id"] = "task_id"
        values[":task_id_prefix"] = {"S": where.task_id_prefix}
    return view, conditions, names, values


def _encode(sort: str) -> str:
    return encode_token([sort])


def _decode(token: str) -> str:
    """[sort], as _encode wrote it: anything else is refused (see page_tokens)."""
    (sort,) = decode_fields(token, 1)
    return token_text(sort)
