"""What test_engine_invokers.py and test_engine_process_invoker.py share: the probe's
directory, set before any worker process starts, and an app whose engine runs the probe
handler on the invoker given, LOCAL_INVOKER=thread or =process."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from scheduler_api.main import create_app
from tests.conftest import AUTH, FakeClock, LocalApp, make_local_settings, task_body

HANDLER = "tests.backends.local.invoker_probe.handler"
INVOKERS = ["thread", "process"]


@pytest.fixture(autouse=True)
def probe_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Set before any worker process starts: each reads it from its environment."""
    directory = tmp_path / "probe"
    directory.mkdir()
    monkeypatch.setenv("INVOKER_PROBE_DIR", str(directory))
    return directory


@contextmanager
def app_on(
    invoker: str, tmp_path: Path, clock: FakeClock, handler: str = HANDLER, **settings: Any
) -> Iterator[LocalApp]:
    resolved = make_local_settings(
        tmp_path / "scheduler.db",
        local_lambda_handler=handler,
        local_invoker=invoker,
        local_concurrency=3,
        **settings,
    )
    app = create_app(resolved, clock=clock, start_engine=False)
    with TestClient(app, headers=AUTH) as client:
        local = LocalApp(client, app.state.runtime, clock)
        try:
            yield local
        finally:
            local.engine.stop(grace_seconds=0)  # ends the worker processes, if any


def schedule(app: LocalApp, task_id: str, **timing: Any) -> dict[str, Any]:
    body = task_body(task_id, **(timing or {"run_at": "2030-01-01T00:01:00Z"}))
    response = app.client.post("/scheduler/schedule", json=body)
    assert response.status_code == 200, response.text
    created: dict[str, Any] = response.json()
    return created
