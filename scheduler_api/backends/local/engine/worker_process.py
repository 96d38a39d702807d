"""One worker process of LOCAL_INVOKER=process: it imports LOCAL_LAMBDA_HANDLER once and
runs the invocations its engine sends over a pipe, one at a time, as one Lambda execution
environment does. The handler then has a GIL of its own instead of sharing the engine's.

Messages to the engine, on the same pipe: ("ready", pid) once the handler is imported,
("log", record) for each log record, then per invocation ("outcome", Outcome) or
("error", traceback) when invoke() itself raised (as it would in the engine's thread).

The process ends when the engine closes its end of the pipe or sends None, and at once
(os._exit) when the engine's process is gone, even mid-invocation: a SIGKILLed engine
leaves no worker behind. It ignores SIGINT: a Ctrl-C in a terminal reaches the whole
process group, and stopping within the grace is the engine's decision, not the child's.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import logging.handlers
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import traceback
from multiprocessing.connection import Connection
from typing import Any

from scheduler_api.backends.local.engine.invoker import (
    Invocation,
    LambdaHandler,
    close_thread_event_loops,
    invoke_invocation,
)

PARENT_GONE_EXIT_CODE = 70


class PipeSender:
    """Sends messages to the engine from any thread of this process (the handler may log
    from threads of its own); a Connection is not safe to share unlocked."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()

    def send(self, message: tuple[str, Any]) -> None:
        with self._lock:
            self._conn.send(message)

    def put_nowait(self, record: logging.LogRecord) -> None:
        """What QueueHandler calls: the record goes to the engine's log."""
        with contextlib.suppress(OSError, ValueError):  # the engine is gone: nobody reads it
            self.send(("log", record))


class RecordSender(logging.handlers.QueueHandler):
    """A QueueHandler whose queue is the pipe: the record's message and traceback as
    text (its args and exc_info may not pickle), to be handled by the engine's loggers."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        sent = logging.makeLogRecord(record.__dict__)
        sent.msg = record.getMessage()
        sent.args = None
        if record.exc_info:
            sent.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        sent.exc_info = None
        return sent


def serve(
    conn: Connection, handler_name: str, timeout_seconds: float, levels: dict[str, int]
) -> None:
    """The process's target. `levels` are the engine's logger levels by name ("" is the
    root), so that records the engine would drop are not even sent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    watch_parent()
    sender = PipeSender(conn)
    log_through(sender, levels)
    handler = load(handler_name)
    sender.send(("ready", os.getpid()))
    try:
        while True:
            try:
                invocation: Invocation | None = conn.recv()
            except EOFError:
                return
            if invocation is None:
                return
            try:
                outcome = invoke_invocation(handler, invocation, timeout_seconds)
            except Exception as exc:
                sender.send(("error", "".join(traceback.format_exception(exc))))
            else:
                sender.send(("outcome", outcome))
    finally:
        close_thread_event_loops()  # as the engine's pool threads do when they end


def watch_parent() -> None:
    """Exit at once when the engine's process dies: its end of the spawn pipe closes,
    which multiprocessing hands the child as the parent's sentinel."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return
    sentinel = parent.sentinel

    def watch() -> None:
        multiprocessing.connection.wait([sentinel])
        os._exit(PARENT_GONE_EXIT_CODE)

    threading.Thread(target=watch, name="engine-watch", daemon=True).start()


def log_through(sender: PipeSender, levels: dict[str, int]) -> None:
    root = logging.getLogger()
    root.handlers[:] = [RecordSender(sender)]  # type: ignore[arg-type]  # its put_nowait
    for name, level in levels.items():
        logging.getLogger(name or None).setLevel(level)


def load(dotted_name: str) -> LambdaHandler:
    """As bootstrap.load_handler, which the engine's process already ran with this name."""
    module_name, _, attribute = dotted_name.rpartition(".")
    handler: LambdaHandler = getattr(importlib.import_module(module_name), attribute)
    return handler
