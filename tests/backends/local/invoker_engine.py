"""An engine with LOCAL_INVOKER=process alone in a process, for the test that SIGKILLs it:

    python -m tests.backends.local.invoker_engine DB PIDS_FILE

It starts the engine (two worker processes), has one of them run an invocation that hangs
(tests.backends.local.invoker_probe, INVOKER_PROBE_DIR from the environment), writes the
worker processes' pids to PIDS_FILE, and waits to be killed.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from scheduler_api.backends.local.engine.invoker import Invocation
from scheduler_api.backends.local.engine.loop import LocalEngine
from scheduler_api.backends.local.engine.process_invoker import ProcessInvoker
from scheduler_api.backends.local.store.database import Database
from scheduler_api.domain.clock import system_clock
from scripts.invoke_local import sample_event
from tests.backends.local import invoker_probe

HANDLER = "tests.backends.local.invoker_probe.handler"


def main(db_path: str, pids_file: str) -> None:
    invoker = ProcessInvoker(HANDLER, 2)
    engine = LocalEngine(
        Database(Path(db_path)),
        handler=invoker_probe.handler,
        clock=system_clock,
        concurrency=2,
        invoker=invoker,
    )
    engine.start()
    invoker_probe.order("hung", "hang")
    event = sample_event("hung", action="cleanup", scheduled_time="2030-01-01T09:00:00Z")
    invocation = Invocation(
        event, "arn:aws:scheduler:local:0:schedule/g/hung", "2030-01-01T09:00:00Z", "e-1", 1,
        "arn:aws:lambda:us-east-1:000000000000:function:local-worker",
    )  # fmt: skip
    threading.Thread(target=invoker.invoke, args=(invocation,), daemon=True).start()
    pids = Path(pids_file)
    pids.with_suffix(".tmp").write_text(" ".join(map(str, invoker.pids())))
    pids.with_suffix(".tmp").rename(pids)  # whole or absent, for the test that polls it
    threading.Event().wait()


if __name__ == "__main__":
    main(*sys.argv[1:3])
