"""A run's duration is the action's own time, not the backoff between its attempts."""

from __future__ import annotations

from datetime import datetime

from tests.conftest import LocalApp, task_body
from tests.support.probe_handler import FAILURES


def test_a_retried_runs_duration_leaves_out_the_backoff(local_app: LocalApp) -> None:
    FAILURES["flaky"] = 1
    body = task_body("flaky", run_at="2030-01-01T00:01:00Z")
    assert local_app.client.post("/scheduler/schedule", json=body).status_code == 200
    local_app.advance(30)  # attempt 1 fails
    local_app.advance(60)  # attempt 2, after the 60 s backoff, succeeds
    (run,) = local_app.runs("flaky")
    assert run["status"] == "SUCCEEDED"
    assert run["attempts"] == 2
    span = datetime.fromisoformat(run["finished_at"]) - datetime.fromisoformat(run["started_at"])
    assert span.total_seconds() == 60  # first start to last end: the backoff included
    assert run["duration_seconds"] == 0  # the clock did not move while the action ran
