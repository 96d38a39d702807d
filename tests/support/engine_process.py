"""A local engine alone in a process, for tests that stop or kill it:

    python -m tests.support.engine_process DB READY_FILE STALE_AFTER_SECONDS

It runs tests.support.probe_handler.file_handler (PROBE_DELAY_SECONDS, PROBE_LOG, and the
probe_run action's PROBE_ACTION_LOG from the environment), writes its owner to READY_FILE
once started, and stops on SIGTERM.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from scheduler_api.backends.local.engine.loop import LocalEngine
from scheduler_api.backends.local.store.database import Database
from scheduler_api.domain.clock import system_clock
from tests.support import probe_handler


def main(db_path: str, ready_file: str, stale_after: str) -> None:
    stop = threading.Event()

    def on_term(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_term)
    engine = LocalEngine(
        Database(Path(db_path)),
        handler=probe_handler.file_handler,
        clock=system_clock,
        concurrency=2,
        stale_after_seconds=float(stale_after),
    )
    engine.start()
    ready = Path(ready_file)
    ready.with_suffix(".tmp").write_text(engine.owner)
    ready.with_suffix(".tmp").rename(ready)  # whole or absent, for the test that polls it
    stop.wait()
    engine.stop(grace_seconds=1)


if __name__ == "__main__":
    main(*sys.argv[1:4])
