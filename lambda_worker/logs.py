"""The worker's logs, carrying the task and invocation fields of the moment: JSON, one
object per line (Lambda's default, for CloudWatch Logs Insights), or text, one line with
the fields as key=value and an action's traceback on its own lines (LOG_FORMAT=text, the
default on a terminal: the local engine runs this worker in the API's process)."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

_fields: ContextVar[dict[str, Any] | None] = ContextVar("log_fields", default=None)


def _timestamp(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": _timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **(_fields.get() or {}),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


# C0 and C1 controls, DEL, and the Unicode line and paragraph separators: a text line stays
# one line whatever a task's fields hold.
_CONTROL = [*range(0x20), 0x7F, *range(0x80, 0xA0), 0x2028, 0x2029]
_ESCAPES = {code: json.dumps(chr(code))[1:-1] for code in _CONTROL}


class TextFormatter(logging.Formatter):
    """`time LEVEL logger key=value ... message`, then the traceback as Python prints it."""

    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(f"{key}={value}" for key, value in (_fields.get() or {}).items())
        line = " ".join(
            part
            for part in (
                self.formatTime(record),  # as the API's lines beside it write it
                record.levelname,
                record.name,
                fields,
                record.getMessage(),
            )
            if part
        ).translate(_ESCAPES)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


@contextmanager
def log_fields(**fields: Any) -> Iterator[None]:
    """Add fields to every log line written inside the block (None values are left out)."""
    merged = {**(_fields.get() or {}), **{k: v for k, v in fields.items() if v is not None}}
    token = _fields.set(merged)
    try:
        yield
    finally:
        _fields.reset(token)


class StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stdout is at the time (Lambda and test capture swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout
        super().emit(record)


def configure_logging(level: str = "INFO", log_format: str = "json") -> None:
    # The logging HOWTO's own optimisations: our JSON lines carry none of these, and
    # finding the caller walks the stack on every line.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = StdoutHandler()
    handler.setFormatter(TextFormatter() if log_format == "text" else JsonFormatter())
    for name, floor in (("lambda_worker", level.upper()), ("mangum", "WARNING")):
        # Mangum's per-request INFO line repeats our "task done"; only its warnings pass.
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(floor)
        logger.propagate = False
