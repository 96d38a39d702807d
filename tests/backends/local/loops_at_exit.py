"""An app whose engine runs four fires through the real worker, stops, and exits:

    python -m tests.backends.local.loops_at_exit thread|process DIR

for the test that reads what the process (and its worker processes) printed on the way
out, with ResourceWarning shown (PYTHONWARNINGS=always::ResourceWarning)."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from scheduler_api.main import create_app
from tests.backends.local.invoker_apps import schedule
from tests.backends.local.test_local_processes import wait_for
from tests.conftest import AUTH, FakeClock, LocalApp, make_local_settings

LAST_LINE = "stopped, exiting"


def main(invoker: str, directory: Path) -> None:
    clock = FakeClock()
    settings = make_local_settings(
        directory / "scheduler.db",
        local_lambda_handler="lambda_worker.handler.lambda_handler",
        local_invoker=invoker,
        local_concurrency=2,
    )
    app = create_app(settings, clock=clock, start_engine=False)
    with TestClient(app, headers=AUTH) as client:
        local = LocalApp(client, app.state.runtime, clock)
        for n in range(4):
            schedule(local, f"exit-{n}")
        clock.advance(timedelta(seconds=90))
        local.engine.start()
        wait_for(
            lambda: all(
                (runs := local.runs(f"exit-{n}")) and runs[0]["status"] == "SUCCEEDED"
                for n in range(4)
            )
        )
        local.engine.stop()
    print(LAST_LINE, file=sys.stderr, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
