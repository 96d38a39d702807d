"""The Lambda entry point: `lambda_worker.handler.lambda_handler`.

Mangum turns every exception into a 500 response, and a returned 500 is a successful
invocation to Lambda, so nothing would ever retry. Here a 5xx answer becomes a raised
TaskFailedError: Lambda's asynchronous retries and on-failure destination take over.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, cast

from mangum import Mangum

from lambda_worker.actions import known_actions
from lambda_worker.app import app
from lambda_worker.config import default_ledger, worker_config
from lambda_worker.emf_metrics import action_of, emf_line, emit, lateness_of, now_utc, outcome_of
from lambda_worker.logs import configure_logging, log_fields
from task_contract import LambdaContext, ProxyEvent, TaskFailedError, is_unicode

# Settings are checked here, at init: a bad one fails the import with a message naming it
# (WorkerConfigError), instead of a 500 on every event that Lambda would retry.
configure_logging(worker_config().log_level, worker_config().log_format)
default_ledger()
logger = logging.getLogger("lambda_worker.handler")

# Built once per Lambda container, reused by every invocation. Seen through the contract's
# types: Mangum takes any dict as the event, and its own context Protocol adds the mobile
# SDK's fields, which it only passes on (as the scope's aws.context) and no one reads.
_asgi_handler = cast(
    "Callable[[ProxyEvent, LambdaContext], dict[str, Any]]", Mangum(app, lifespan="off")
)

REQUIRED_EVENT_KEYS = ("resource", "path", "httpMethod", "requestContext")


class UnsupportedEventError(ValueError):
    """The event is not an API Gateway REST proxy event."""


# `known_actions`: the actions this handler runs. The local backend reads it from the
# module LOCAL_LAMBDA_HANDLER names (it may not import lambda_worker) to check `action` at
# POST; a handler module without it leaves the check to the worker.
__all__ = ["TaskFailedError", "UnsupportedEventError", "known_actions", "lambda_handler"]


def _lambda_request_id(context: LambdaContext) -> str | None:
    """Lambda's id of the invocation. Called by hand (a test, a script), the handler may
    be given a dict or an object with less than Lambda's: read as it comes."""
    if isinstance(context, dict):
        return context.get("aws_request_id")
    return getattr(context, "aws_request_id", None)


def _report(event: ProxyEvent, status: int, response: dict[str, Any], started: float) -> None:
    """The invocation's CloudWatch metrics, as one EMF log line (on Lambda only)."""
    config = worker_config()
    if not config.emit_metrics:
        return
    line = emf_line(
        config.metrics_namespace,
        action=action_of(event),
        outcome=outcome_of(status, response.get("headers") or {}),
        duration_ms=(time.perf_counter() - started) * 1000,
        lateness_s=lateness_of(event, now_utc()),
    )
    emit(line)


def _text(value: Any) -> bool:
    """A str Mangum can encode: a lone surrogate ("\\ud800") is valid JSON, not UTF-8."""
    return isinstance(value, str) and is_unicode(value)


def _strings(value: Any, *, lists: bool = False) -> bool:
    """None, or a dict of str to str (to lists of str with `lists`)."""
    if value is None:
        return True
    if not isinstance(value, dict):
        return False
    for key, item in value.items():
        items = item if lists and isinstance(item, list) else [item]
        if not _text(key) or (lists and not isinstance(item, list)):
            return False
        if not all(_text(one) for one in items):
            return False
    return True


def _malformed_key(event: dict[str, Any]) -> str | None:
    """The first key whose value Mangum would crash on (TypeError, AttributeError), if any."""
    for key in ("resource", "path", "httpMethod"):
        if not _text(event[key]):
            return key
    request_context = event["requestContext"]
    if not isinstance(request_context, dict):
        return "requestContext"
    if not isinstance(request_context.get("identity", {}), dict):
        return "requestContext.identity"
    for key in ("headers", "queryStringParameters"):
        if not _strings(event.get(key)):
            return key
    for key in ("multiValueHeaders", "multiValueQueryStringParameters"):
        if not _strings(event.get(key), lists=True):
            return key
    body = event.get("body")
    if body is not None and not _text(body):
        return "body"
    encoded = event.get("isBase64Encoded")
    if encoded not in (None, False, True):
        return "isBase64Encoded"
    if encoded:
        try:
            base64.b64decode(body or "", validate=True)
        except binascii.Error:
            return "body"
    return None


def _check_event(event: Any) -> None:
    if not isinstance(event, dict) or any(key not in event for key in REQUIRED_EVENT_KEYS):
        keys = sorted(event) if isinstance(event, dict) else type(event).__name__
        raise UnsupportedEventError(
            "expected an API Gateway REST proxy event with keys "
            f"{', '.join(REQUIRED_EVENT_KEYS)} (the Input the scheduler API builds); got {keys}"
        )
    malformed = _malformed_key(event)
    if malformed is not None:
        raise UnsupportedEventError(
            f"expected an API Gateway REST proxy event; its {malformed!r} is not of the"
            " proxy event's type (text, or objects of text)"
        )


_thread_loops = threading.local()


def _set_event_loop() -> None:
    """Mangum runs each invocation on `asyncio.get_event_loop()`, which raises in a thread
    with no loop set: one where asyncio.run() has run (it leaves none behind: code of
    yours, or a library, in this process), any thread but the main one, and from Python
    3.14 the main one too. So each thread keeps a loop of its own, set before each call."""
    loop: asyncio.AbstractEventLoop | None = getattr(_thread_loops, "loop", None)
    if loop is None or loop.is_closed():
        loop = _thread_loops.loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)


def lambda_handler(event: ProxyEvent, context: LambdaContext) -> dict[str, Any]:
    """Typed as what the scheduler sends; checked all the same, as Lambda takes any JSON."""
    _check_event(event)
    _set_event_loop()
    started = time.perf_counter()
    with log_fields(lambda_request_id=_lambda_request_id(context)):
        response: dict[str, Any] = _asgi_handler(event, context)
        status = int(response["statusCode"])
        _report(event, status, response, started)
        if status >= 500:
            logger.error("callback failed with %d; raising so Lambda retries", status)
            raise TaskFailedError(status, str(response.get("body") or ""))
    return response
