"""The AWS backend's schedule index: a DynamoDB table (SCHEDULE_TABLE) that answers what
ListSchedules cannot (by user, action, label, next fire), one Query per page.

Layout. Each schedule is a few items under one partition key, `{group}/{name}`: one per
view it can be found by (sort key `all`, `user`, `action`, `label#<key>`). The `all`
item (the anchor) is a full copy of what a list shows; every other view's item is a
pointer to it holding only what a query filters on (items.py), and a page read through
such a view reads the anchors it points to (one BatchGetItem). One global secondary
index, `by_view`, is keyed (view, sort): a view is e.g. `{group}|user|456`, and sort
is `{next fire}|{task_id}|{name}` (`~` for a schedule that will not fire), so every
filter is one Query in next-fire order, and a page token is the last item's sort key
(keyset: stable while schedules come and go).

EventBridge stays the source of truth. Every write replaces all of a schedule's items in
one transaction, conditioned on the `rev` (a random id) of its `all` item as last read, so
no write overwrites a change it did not see. A change goes in three steps:
  1. intend: write the new values, marked pending (with the time);
  2. call EventBridge;
  3. confirm: write them again unmarked, if the rev is still the intent's.
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

Write cost. A schedule is one item per view: `all`, `user` and `action` when it has them,
one per label (at most MAX_LABELS = 10), so at most 13. Every write replaces them all in
one TransactWriteItems (2 units per KB of item) and DynamoDB copies each into by_view (1
unit per KB; 2 entries when its keys change, as a pause's next fire does). Only the
anchor weighs what the labels weigh (up to about 2.6 KB); a pointer is under 1 KB. A
worst-case create (intend, confirm) costs 90 write units, a pause 105 (full copies in
every view cost 234 and 273): benchmark 10 of `make bench` counts them per operation from
the requests (bench/index_writes.py, bench/RESULTS.md). A read can write too (repair.py).

Modules, in the order a write reaches them: keys.py (the layout and time keys), entry.py
(what an entry is), items.py (the item codec), writes.py (intend, confirm, heal: the one
transaction), query.py (the planner, the clause builder, paging), repair.py (the read that
repairs) and backend.py (IndexedBackend: EventBridge with the index beside it).
"""
