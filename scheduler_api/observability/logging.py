"""Request ids and logging: every response and every log line of a request share one id.

Log lines are one line each whatever a client sends: control characters in a message
(a decoded path, a header, a task_id) are written escaped, so `%0AFORGED` in a URL
cannot start a forged line and `%00` cannot write a NUL.

LOG_FORMAT picks the shape: `text` (one line, a traceback on its own lines after it) or
`json` (one object per line, the traceback a field of it). Each request is logged once,
by RequestIdMiddleware: uvicorn's own access line is turned off however uvicorn was
started (`make run`, plain `uvicorn`, a --log-config).
"""

from __future__ import annotations

import copy
import json
import logging
import re
import sys
import time
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
access_logger = logging.getLogger("scheduler_api.access")
error_logger = logging.getLogger("scheduler_api.errors")

# C0 and C1 controls, DEL, and the Unicode line and paragraph separators.
_CONTROL = [*range(0x20), 0x7F, *range(0x80, 0xA0), 0x2028, 0x2029]
_ESCAPES = {code: json.dumps(chr(code))[1:-1] for code in _CONTROL}


def escape_controls(text: str) -> str:
    """`text` with every control character written as an escape (\\n, \\u0000)."""
    return text.translate(_ESCAPES)


class OneLineFormatter(logging.Formatter):
    """Escapes control characters in the message; a traceback keeps its lines."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        escaped = escape_controls(message)
        if escaped != message:
            record = copy.copy(record)
            record.msg, record.args = escaped, None
        return super().format(record)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at the time, as uvicorn's own loggers do."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


class JsonLineFormatter(logging.Formatter):
    """One JSON object per line: json.dumps escapes every control character."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            # As the worker's JSON lines write it (lambda_worker/logs.py).
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s request_id=%(request_id)s %(message)s"


def configure_logging(level: str, log_format: str = "text") -> None:
    handler = StderrHandler()
    handler.addFilter(RequestIdFilter())
    formatter = JsonLineFormatter() if log_format == "json" else OneLineFormatter(TEXT_FORMAT)
    handler.setFormatter(formatter)
    logger = logging.getLogger("scheduler_api")
    logger.handlers[:] = [handler]
    logger.setLevel(level.upper())
    logger.propagate = False
    silence_server_access_log()


def silence_server_access_log() -> None:
    """RequestIdMiddleware logs each request (with its id); uvicorn's access line would
    repeat it. uvicorn writes that line only while its logger has a handler, checked per
    connection, so removing them here works however uvicorn was configured."""
    access = logging.getLogger("uvicorn.access")
    access.handlers[:] = []
    access.propagate = False


class RequestIdMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware overhead): sets the id, echoes it, logs the request.

    A caller's own X-Request-ID is kept when it looks like an id, so ids can span services.
    It is also where an unexpected exception becomes the 500: Starlette's own catch-all
    runs outside every middleware, where the request id is already gone.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status, response_started = message["status"], True
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            error_logger.error("unhandled error", exc_info=exc)
            if response_started:
                raise  # too late for a clean 500: let the server close the connection
            await send_error(send_with_id, 500, "Internal server error")
        finally:
            access_logger.info(
                "%s %s %d %.1fms",
                scope["method"],
                scope["path"],
                status,
                (time.perf_counter() - started) * 1000,
            )
            request_id_var.reset(token)


async def send_error(send: Send, status: int, detail: Any) -> None:
    """An error in the API's shape ({"detail", "request_id"}), sent straight to the ASGI
    server: for answers given outside the app's own exception handlers."""
    body = json.dumps({"detail": detail, "request_id": request_id_var.get()}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
