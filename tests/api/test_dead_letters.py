"""DELETE /scheduler/dead-letters/{id}: a dead letter dealt with leaves the list."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.conftest import Api, LocalApp, task_body
from tests.support.probe_handler import FAILURES


def dead_letter_of(local_app: LocalApp, task_id: str) -> dict[str, Any]:
    FAILURES[task_id] = 10
    due = local_app.clock.now + timedelta(seconds=30)
    body = task_body(task_id, run_at=due.isoformat())
    assert local_app.client.post("/scheduler/schedule", json=body).status_code == 200
    for seconds in (30, 60, 120):  # three attempts, the backoff between them
        local_app.advance(seconds)
    letters = local_app.client.get("/scheduler/dead-letters").json()["dead_letters"]
    letter: dict[str, Any] = next(d for d in letters if d["task_id"] == task_id)
    return letter


def test_a_dismissed_dead_letter_leaves_the_list_and_its_runs_stay(local_app: LocalApp) -> None:
    kept, dismissed = dead_letter_of(local_app, "kept"), dead_letter_of(local_app, "dismissed")
    answer = local_app.client.delete(f"/scheduler/dead-letters/{dismissed['id']}")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"dead_letter_id": dismissed["id"], "dismissed": True}
    listed = local_app.client.get("/scheduler/dead-letters").json()["dead_letters"]
    assert [d["id"] for d in listed] == [kept["id"]]
    (run,) = local_app.runs("dismissed")
    assert run["status"] == "DEAD_LETTERED"  # the history is not rewritten
    again = local_app.client.delete(f"/scheduler/dead-letters/{dismissed['id']}")
    assert again.status_code == 404
    redrive = local_app.client.post(f"/scheduler/dead-letters/{dismissed['id']}/redrive")
    assert redrive.status_code == 404


def test_an_unknown_or_invalid_dead_letter_id(local_app: LocalApp) -> None:
    unknown = local_app.client.delete("/scheduler/dead-letters/999")
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == "Dead letter not found"
    assert local_app.client.delete("/scheduler/dead-letters/0").status_code == 422


def test_dismissing_needs_the_local_engine(api: Api) -> None:
    expected = 404 if api.local else 501
    assert api.client.delete("/scheduler/dead-letters/1").status_code == expected
