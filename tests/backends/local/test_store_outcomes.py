"""Recording a round's outcomes (store/outcomes.py): each kind of ending written with its
own status, code and reason, however many a round holds, and none whose lease another
engine took."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import timedelta

from scheduler_api.backends.local.store.claims import Claimed
from scheduler_api.backends.local.store.outcomes import HELD_QUERY_BATCH, Finished, Outcome
from scheduler_api.domain.clock import to_epoch
from scheduler_api.services.requests import ScheduleTaskRequest
from task_contract import RunStatus
from tests.conftest import LocalApp

# How each task's attempt ends, and what its execution must then say: (status,
# status_code, error). More plain successes than one query of held rows takes, so that
# the batched writes split.
ENDINGS = {
    "ok": (Outcome(False, 200, None, "{}"), ("SUCCEEDED", 200, None)),
    "accepted": (Outcome(False, 202, None, "{}"), ("SUCCEEDED", 202, None)),
    "refused": (Outcome(False, 400, "HTTP 400", "{}"), ("FAILED", 400, "HTTP 400")),
    "skipped": (Outcome(False, 200, None, "{}", skipped="paused"), ("SKIPPED", 200, "paused")),
    "raised": (Outcome(True, None, "RuntimeError", "{}"), ("RETRYING", None, "RuntimeError")),
    # raised at its last attempt (LAST_ATTEMPT): dead-lettered, then its row written
    "exhausted": (
        Outcome(True, None, "RuntimeError", "{}"),
        ("DEAD_LETTERED", None, "RuntimeError"),
    ),
}
COUNTS = {
    "ok": HELD_QUERY_BATCH + 20,
    "accepted": 30,
    "refused": 7,
    "skipped": 5,
    "raised": 6,
    "exhausted": 4,
}
LAST_ATTEMPT = 3  # RetryPolicy's default: two retries


def test_a_round_records_each_kind_of_ending_however_many_it_holds(local_app: LocalApp) -> None:
    tasks = [f"{kind}-{n}" for kind, count in COUNTS.items() for n in range(count)]
    tasks.append("lost-0")
    due = local_app.clock.now + timedelta(seconds=30)
    for n, task_id in enumerate(tasks):
        request = ScheduleTaskRequest(task_id=task_id, user_id=n, action="cleanup", run_at=due)
        local_app.runtime.service.schedule_task(request)
    local_app.clock.advance(timedelta(seconds=30))
    store = local_app.engine.store
    with store.round() as round:
        while round.materialize():
            pass
        claimed = {c.schedule_arn.rsplit("/", 1)[1]: c for c in round.claim(len(tasks) + 1)}
    assert sorted(claimed) == sorted(tasks)
    db = store.database.path
    with sqlite3.connect(db) as other:  # another engine took this one over meanwhile
        other.execute(
            "UPDATE executions SET lease_owner = 'another-engine' WHERE id = ?",
            (claimed["lost-0"].id,),
        )
    other.close()
    local_app.clock.advance(timedelta(seconds=1))
    finished = [Finished(_attempt_of(claimed[task]), _outcome_of(task)) for task in reversed(tasks)]
    with store.round() as round:
        statuses = round.record(finished)

    expected = [
        None if task == "lost-0" else ENDINGS[_kind(task)][1][0] for task in reversed(tasks)
    ]
    assert [s and RunStatus(s).value for s in statuses] == expected
    now = to_epoch(local_app.clock.now)
    with sqlite3.connect(db) as conn:
        rows = {
            row[0]: row[1:]
            for row in conn.execute(
                "SELECT task_id, status, status_code, error, lease_owner, finished_at, due_at"
                " FROM executions"
            )
        }
        left = {row[0] for row in conn.execute("SELECT task_id FROM schedules")}
        letters = {
            row[0]
            for row in conn.execute(
                "SELECT e.task_id FROM dead_letters d JOIN executions e ON e.id = d.execution_id"
            )
        }
    conn.close()
    for task in tasks:
        status, code, error, lease, finished_at, due_at = rows[task]
        if task == "lost-0":  # not this engine's to record
            assert (status, lease, finished_at) == ("RUNNING", "another-engine", None)
            continue
        assert (status, code, error) == ENDINGS[_kind(task)][1], task
        assert lease is None, task
        if status == "RETRYING":
            assert (finished_at, due_at > now) == (None, True), task
        else:
            assert (finished_at, due_at) == (now, to_epoch(due)), task
    # A one-time schedule goes with its last run: those to retry, and the lost one, stay.
    assert left == {t for t in tasks if _kind(t) in ("raised", "lost")}
    assert letters == {t for t in tasks if _kind(t) == "exhausted"}


def test_two_outcomes_of_one_execution_in_a_round_the_last_one_is_kept(
    local_app: LocalApp,
) -> None:
    """As when each was a statement of its own, in order (a review found the grouped
    writes kept the first)."""
    due = local_app.clock.now + timedelta(seconds=30)
    local_app.runtime.service.schedule_task(
        ScheduleTaskRequest(task_id="twice", user_id=1, action="cleanup", run_at=due)
    )
    local_app.clock.advance(timedelta(seconds=30))
    store = local_app.engine.store
    with store.round() as round:
        round.materialize()
        (first,) = round.claim(10)
    local_app.clock.advance(timedelta(seconds=1))
    second = replace(first, attempt=2)  # as if claimed again after its lease was freed
    with store.round() as round:
        statuses = round.record(
            [
                Finished(first, Outcome(False, 200, None, "{}")),
                Finished(second, Outcome(True, None, "RuntimeError", "{}")),
            ]
        )
    assert statuses == [RunStatus.SUCCEEDED, RunStatus.RETRYING]
    with sqlite3.connect(store.database.path) as conn:
        (status,) = conn.execute("SELECT status FROM executions").fetchone()
    conn.close()
    assert status == "RETRYING"


def _kind(task: str) -> str:
    return task.rsplit("-", 1)[0]


def _attempt_of(claimed: Claimed) -> Claimed:
    if _kind(claimed.schedule_arn.rsplit("/", 1)[1]) == "exhausted":
        return replace(claimed, attempt=LAST_ATTEMPT)
    return claimed


def _outcome_of(task: str) -> Outcome:
    return ENDINGS.get(_kind(task), ENDINGS["ok"])[0]
