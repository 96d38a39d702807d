"""Benchmark 10's meter: the read and write units each DynamoDB request of the app's
client costs, computed by DynamoDB's pricing rules from the items it touches, before and
after (read with a second, unhooked client), and beside them what moto reports when
asked (ReturnConsumedCapacity=INDEXES).

The rules (DynamoDB developer guide, "Read/write capacity mode" and "Provisioned
throughput considerations for global secondary indexes"):
- a write costs 1 unit per KB (rounded up) of the larger of the item before and after;
  inside TransactWriteItems 2 units per KB;
- each global index the item is in costs 1 unit per KB of its index entry (projection
  ALL: the item): a new entry 1 write, an entry whose keys are unchanged 1 write, an
  entry whose keys change 2 (delete the old, put the new), an entry removed 1;
- a read costs 1 unit per 4 KB (strongly consistent; 0.5 eventually consistent), a
  GetItem of nothing the minimum of one request, a Query the sum of what it reads
  rounded up once per request, a BatchGetItem each item rounded up on its own.
Item sizes: attribute names plus values, numbers about one byte per two digits, maps 3
bytes plus 1 per element, string sets the sum of their strings."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

KB = 1024
READ_BLOCK = 4 * KB
INDEX_KEYS = ("view", "sort")  # by_view's keys: an item without both is not in it


def item_bytes(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB bills it (names plus values)."""
    return sum(len(name.encode()) + _value_bytes(value) for name, value in item.items())


def _value_bytes(value: dict[str, Any]) -> int:
    (kind, inner), *_ = value.items()
    if kind == "N":
        return math.ceil(len(str(inner).lstrip("-").replace(".", "")) / 2) + 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + _value_bytes(v) + 1 for k, v in inner.items())
    if kind == "SS":
        return sum(len(str(s).encode()) for s in inner)
    return len(str(inner).encode())


def _kb(size: int) -> int:
    return max(1, math.ceil(size / KB))


def _index_key(item: dict[str, Any] | None) -> tuple[str, str] | None:
    if item is None or not all(key in item for key in INDEX_KEYS):
        return None
    return str(item["view"]["S"]), str(item["sort"]["S"])


def write_units(
    before: dict[str, Any] | None, after: dict[str, Any] | None, *, transactional: bool
) -> tuple[int, int]:
    """(table units, by_view units) of replacing `before` with `after` (None: absent)."""
    sizes = [item_bytes(item) for item in (before, after) if item is not None]
    table = (2 if transactional else 1) * _kb(max(sizes, default=0))
    old_key, new_key = _index_key(before), _index_key(after)
    index = 0
    if old_key is not None and old_key != new_key:
        index += _kb(item_bytes(before or {}))  # the old entry removed
    if new_key is not None:
        index += _kb(item_bytes(after or {}))  # put, or updated in place
    return table, index


def read_units(sizes: list[int], *, consistent: bool, per_item: bool) -> float:
    """Units of one read request of items of these sizes."""
    factor = 1.0 if consistent else 0.5
    if per_item:
        return factor * sum(max(1, math.ceil(size / READ_BLOCK)) for size in sizes)
    return factor * max(1, math.ceil(sum(sizes) / READ_BLOCK))


@dataclass
class Tally:
    """One operation's units and requests."""

    write_units: int = 0
    index_units: int = 0
    read_units: float = 0.0
    moto_units: float = 0.0  # what moto says in ConsumedCapacity, where it says anything
    moto_reported: int = 0  # requests it said it for
    requests: dict[str, int] = field(default_factory=dict)

    @property
    def total_writes(self) -> int:
        return self.write_units + self.index_units


class Meter:
    """A botocore hook pair on the app's DynamoDB client: before each request, the units it
    will cost (the items as they stand, read through `peek`, an unhooked client); after
    it, moto's ConsumedCapacity. `tally` is where the current operation adds up."""

    def __init__(self, peek: Any, table: str) -> None:
        self._peek = peek
        self._table = table
        self.tally = Tally()

    def register(self, client: Any) -> None:
        client.meta.events.register("provide-client-params.dynamodb", self.before)
        client.meta.events.register("after-call.dynamodb", self.after)

    def unregister(self, client: Any) -> None:
        client.meta.events.unregister("provide-client-params.dynamodb", self.before)
        client.meta.events.unregister("after-call.dynamodb", self.after)

    def _stored(self, key: dict[str, Any]) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self._peek.get_item(
            TableName=self._table, Key=key, ConsistentRead=True
        ).get("Item")
        return found

    def _write(self, key: dict[str, Any], after: dict[str, Any] | None, txn: bool) -> None:
        table, index = write_units(self._stored(key), after, transactional=txn)
        self.tally.write_units += table
        self.tally.index_units += index

    def before(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        name = model.name
        tally = self.tally
        tally.requests[name] = tally.requests.get(name, 0) + 1
        if "ReturnConsumedCapacity" in model.input_shape.members:
            params["ReturnConsumedCapacity"] = "INDEXES"
        if name == "TransactWriteItems":
            for action in params["TransactItems"]:
                if "Put" in action:
                    item = action["Put"]["Item"]
                    self._write({"pk": item["pk"], "sk": item["sk"]}, item, True)
                elif "Delete" in action:
                    self._write(action["Delete"]["Key"], None, True)
        elif name == "PutItem":
            item = params["Item"]
            self._write({"pk": item["pk"], "sk": item["sk"]}, item, False)
        elif name == "DeleteItem":
            self._write(params["Key"], None, False)
        elif name == "GetItem":
            found = self._stored(params["Key"])
            sizes = [] if found is None else [item_bytes(found)]
            consistent = bool(params.get("ConsistentRead"))
            tally.read_units += read_units(sizes, consistent=consistent, per_item=False)
        elif name == "BatchGetItem":
            (request,) = params["RequestItems"].values()
            found_items = [self._stored(key) for key in request["Keys"]]
            sizes = [item_bytes(item) for item in found_items if item is not None]
            consistent = bool(request.get("ConsistentRead"))
            tally.read_units += read_units(sizes, consistent=consistent, per_item=True)
        elif name == "Query":
            response = self._peek.query(
                **{k: v for k, v in params.items() if k not in ("ProjectionExpression",)}
            )
            sizes = [item_bytes(item) for item in response["Items"]]
            consistent = bool(params.get("ConsistentRead"))
            tally.read_units += read_units(sizes, consistent=consistent, per_item=False)

    def after(self, parsed: dict[str, Any], **_: Any) -> None:
        consumed = parsed.get("ConsumedCapacity")
        if not consumed:
            return
        for entry in consumed if isinstance(consumed, list) else [consumed]:
            self.tally.moto_units += float(entry.get("CapacityUnits", 0.0))
            self.tally.moto_reported += 1
