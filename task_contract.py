"""The contract between the scheduler API and the worker, imported by both (and shipped
in the Lambda zip beside lambda_worker): nothing else is shared between the two services.

- the schedule's Input: an API Gateway REST (v1) proxy event, with the EventBridge
  Scheduler context attributes as X-Scheduler-* headers and a one-time task's own time
  as X-Task-Run-At;
- the optional signature of that Input (X-Scheduler-Signature);
- the callback body's policy fields (overlap, max_lateness_seconds) and, on the worker's
  answer, X-Task-Skipped when a policy kept the action from running;
- how a run stands (RunStatus), the same words on the local engine and on AWS;
- the ledger's record, which the worker writes and the API reads back as runs;
- TaskFailedError, what the worker's Lambda handler raises when a task failed, and a
  refused run's `error` (refusal_error), the same words on both backends;
- LOG_FORMAT's default (default_log_format), the same rule in both services;
- the types of the Lambda edge, as Mangum types them: ProxyEvent (the Input, what the
  handler receives) and LambdaContext (what Lambda, or the local engine, passes with it).

Standard library only: the worker's cold start pays for every import here. One concept,
what the two services agree on, so one module past 300 lines: each part is small, and a
reader checking what crosses the boundary reads it in one place.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal, Protocol, TypedDict
from urllib.parse import parse_qs, urlsplit

HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]

SCHEDULE_ARN_HEADER = "X-Scheduler-Schedule-Arn"
SCHEDULED_TIME_HEADER = "X-Scheduler-Scheduled-Time"
EXECUTION_ID_HEADER = "X-Scheduler-Execution-Id"
ATTEMPT_HEADER = "X-Scheduler-Attempt"
RUN_AT_HEADER = "X-Task-Run-At"
# Set on a run-now's delivery (not in the stored Input): the run's own id. The worker keys
# such a run apart from every scheduled fire (EventBridge's times have whole seconds).
MANUAL_RUN_HEADER = "X-Task-Manual-Run"
# In the ledger's key of a manual run: "<scheduled time>#manual-<its id>".
MANUAL_KEY_MARK = "#manual-"
SIGNATURE_HEADER = "X-Scheduler-Signature"
# On the worker's 200 answer when it did not run the action on purpose: why (a policy).
SKIPPED_HEADER = "X-Task-Skipped"

# EventBridge Scheduler replaces these in the Input text at every invocation.
CONTEXT_HEADERS = {
    SCHEDULE_ARN_HEADER: "<aws.scheduler.schedule-arn>",
    SCHEDULED_TIME_HEADER: "<aws.scheduler.scheduled-time>",
    EXECUTION_ID_HEADER: "<aws.scheduler.execution-id>",
    ATTEMPT_HEADER: "<aws.scheduler.attempt-number>",
}
UNSUBSTITUTED_PREFIX = "<aws.scheduler."
_DEFAULT_HEADERS = {
    "Content-Type": "application/json; charset=utf-8",
    "Accept": "application/json",
}


class ProxyRequestContext(TypedDict, total=False):
    """The proxy event's requestContext, as build_proxy_event fills it in."""

    resourcePath: str
    httpMethod: str
    path: str
    stage: str
    requestId: str
    identity: dict[str, str]  # sourceIp, userAgent


class _ProxyEventRequired(TypedDict):
    """What Mangum cannot do without (the handler's REQUIRED_EVENT_KEYS)."""

    resource: str
    path: str
    httpMethod: str
    requestContext: ProxyRequestContext


class ProxyEvent(_ProxyEventRequired, total=False):
    """An API Gateway REST (v1) proxy event: the schedule's Input, built by
    build_proxy_event (with every key) and received by the worker's handler, which
    checks a received event's keys and their types before Mangum reads them (Lambda
    takes any JSON). Two classes, not NotRequired: with postponed annotations Python
    3.11 cannot tell which keys NotRequired marks."""

    headers: dict[str, str]
    multiValueHeaders: dict[str, list[str]]
    queryStringParameters: dict[str, str] | None
    multiValueQueryStringParameters: dict[str, list[str]] | None
    pathParameters: dict[str, str] | None
    stageVariables: dict[str, str] | None
    body: str | None  # JSON text: Mangum calls .encode() on it
    isBase64Encoded: bool


class LambdaContext(Protocol):
    """What Lambda passes a handler beside its event (Mangum's LambdaContext, without the
    mobile SDK's identity and client_context, which no one here reads). The worker logs
    aws_request_id; the local engine's context (LocalLambdaContext) is checked against
    this, so a handler reading any of it runs locally as on Lambda. Read-only: a handler
    reads them, so an implementation may hold them as it likes (a frozen dataclass)."""

    @property
    def function_name(self) -> str: ...
    @property
    def function_version(self) -> str: ...
    @property
    def invoked_function_arn(self) -> str: ...
    @property
    def memory_limit_in_mb(self) -> int: ...
    @property
    def aws_request_id(self) -> str: ...
    @property
    def log_group_name(self) -> str: ...
    @property
    def log_stream_name(self) -> str: ...

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the invocation times out."""
        ...


def build_proxy_event(
    path: str,
    method: HttpMethod,
    body: dict[str, Any] | None = None,
    query_params: dict[str, str | list[str]] | None = None,
    headers: dict[str, str] | None = None,
) -> ProxyEvent:
    """An API Gateway REST proxy event for `method path` with a JSON body.

    The body is a JSON string (Mangum calls `.encode()` on it; a dict crashes it), and the
    multi-value forms are filled in because Mangum prefers them when present.
    """
    split = urlsplit(path)
    clean_path = "/" + split.path.strip("/")
    multi_query: dict[str, list[str]] = {k: list(v) for k, v in parse_qs(split.query).items()}
    for key, value in (query_params or {}).items():
        multi_query[key] = [value] if isinstance(value, str) else list(value)
    all_headers = {**_DEFAULT_HEADERS, **CONTEXT_HEADERS, **(headers or {})}
    return {
        "resource": "/{proxy+}",
        "path": clean_path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {key: [value] for key, value in all_headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": {"proxy": clean_path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "path": clean_path,
            "stage": "scheduler",
            # One id per execution: EventBridge fills it in at each invocation.
            "requestId": CONTEXT_HEADERS[EXECUTION_ID_HEADER],
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "EventBridgeScheduler"},
        },
        "body": None if method == "GET" or body is None else json.dumps(body),
        "isBase64Encoded": False,
    }


def substitute_context_attributes(
    input_text: str,
    *,
    schedule_arn: str,
    scheduled_time: str,
    execution_id: str,
    attempt: int,
) -> str:
    """What EventBridge Scheduler does to the Input text before each invocation."""
    values = {
        CONTEXT_HEADERS[SCHEDULE_ARN_HEADER]: schedule_arn,
        CONTEXT_HEADERS[SCHEDULED_TIME_HEADER]: scheduled_time,
        CONTEXT_HEADERS[EXECUTION_ID_HEADER]: execution_id,
        CONTEXT_HEADERS[ATTEMPT_HEADER]: str(attempt),
    }
    for placeholder, value in values.items():
        input_text = input_text.replace(placeholder, value)
    return input_text


Overlap = Literal["allow", "skip"]
TASK_ID_MAX_LENGTH = 128
ACTION_MAX_LENGTH = 128
# How deeply objects and arrays may nest in a task's data (the worker's JSON parser gives up
# near 200; the API keeps far below it).
MAX_DATA_DEPTH = 32
MAX_LABELS = 10
LABEL_KEY_PATTERN = r"^[a-z0-9_.-]{1,64}$"
LABEL_VALUE_MAX = 128
MAX_LATENESS_RANGE = (60, 86400)


# A signature's t is a Unix time this service wrote: none was signed before this moment
# (2024-01-01T00:00:00Z), so an older t (t=1, t=0) is not one of ours.
SIGNATURE_EPOCH = 1_704_067_200
# The headers a v2 signature covers besides the body, in this order.
SIGNED_CONTEXT_HEADERS = (
    SCHEDULE_ARN_HEADER,
    SCHEDULED_TIME_HEADER,
    EXECUTION_ID_HEADER,
    ATTEMPT_HEADER,
    RUN_AT_HEADER,
    MANUAL_RUN_HEADER,
)


JsonPath = tuple[str | int, ...]


def json_problem(value: Any) -> tuple[JsonPath, str] | None:
    """The first place in `value` (in document order) that the worker could not receive
    as it was sent, and why; None when there is none. What it finds:

    - text that is not Unicode: a lone surrogate such as "\\ud800" (half of an emoji cut in
      two) is valid JSON, but json.dumps escapes it and the worker's parser refuses the
      escape, so every run would fail;
    - NaN and Infinity: json.dumps writes them, strict JSON parsers (and the API's own
      answers, which show them as null) do not carry them;
    - an object key that is not text, or anything that is not a JSON value.
    """
    stack: list[tuple[Any, JsonPath]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        problem = _value_problem(item)
        if problem is not None:
            return path, problem
        children: list[tuple[Any, JsonPath]] = []
        if isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str):
                    return (*path, str(key)), "object keys must be text"
                if not is_unicode(key):
                    # Escaped in the path, which an error answer must be able to carry.
                    escaped = key.encode("utf-8", "backslashreplace").decode()
                    return (*path, escaped), f"the key is not valid Unicode text: {_LONE_SURROGATE}"
                children.append((child, (*path, key)))
        elif isinstance(item, list):
            children = [(child, (*path, index)) for index, child in enumerate(item)]
        stack.extend(reversed(children))
    return None


_LONE_SURROGATE = "it holds a lone surrogate (half of a character, e.g. a cut emoji)"


def _value_problem(item: Any) -> str | None:
    if isinstance(item, str):
        return None if is_unicode(item) else f"not valid Unicode text: {_LONE_SURROGATE}"
    if isinstance(item, float):
        return None if math.isfinite(item) else "NaN and Infinity are not JSON numbers"
    if item is None or isinstance(item, bool | int | dict | list):
        return None
    return f"{type(item).__name__} is not a JSON value"


def is_unicode(text: str) -> bool:
    """Text that encodes to UTF-8: not a lone surrogate ("\\ud800" is valid JSON, not UTF-8)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _context_signature(secret: str, timestamp: str, context: list[str | None], body: bytes) -> str:
    # The JSON array ends where it ends, so no header value can run into the body.
    message = b"v2." + timestamp.encode() + b"." + json.dumps(context).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _set_header(event: ProxyEvent, name: str, value: str) -> None:
    event["headers"][name] = value
    if isinstance(event.get("multiValueHeaders"), dict):
        event["multiValueHeaders"][name] = [value]


def mark_manual_run(event: ProxyEvent, run_id: str) -> None:
    """Tell the worker this delivery is a run-now, `run_id` its own execution."""
    _set_header(event, MANUAL_RUN_HEADER, run_id)


def sign_event(event: ProxyEvent, secret: str, timestamp: int) -> None:
    """v1, made when a schedule is created: `t=<timestamp>,v1=<HMAC-SHA256("<t>.<body>")>`.
    It covers the body only: EventBridge fills the X-Scheduler-* headers in later."""
    body = (event.get("body") or "").encode()
    value = f"t={timestamp},v1={_signature(secret, str(timestamp), body)}"
    _set_header(event, SIGNATURE_HEADER, value)


def sign_delivery(event: ProxyEvent, secret: str, timestamp: int) -> bool:
    """v2, made by whoever delivers the event (the local engine at each attempt, the API's
    run-now): `t=<timestamp>,v2=<HMAC>` over t, the context headers and the body, so none
    of them can be changed. It replaces the Input's v1, and only a valid one: an Input
    changed where it is stored (the SQLite file, the schedule) is not vouched for, it is
    left as it is for the worker to refuse. Returns whether it signed."""
    headers = event["headers"]
    body = (event.get("body") or "").encode()
    if not signature_is_valid(secret, headers.get(SIGNATURE_HEADER), body):
        return False
    context = [headers.get(name) for name in SIGNED_CONTEXT_HEADERS]
    value = _context_signature(secret, str(timestamp), context, body)
    _set_header(event, SIGNATURE_HEADER, f"t={timestamp},v2={value}")
    return True


@dataclass(frozen=True)
class Signature:
    """A valid signature: when it was made (t) and what it covers (v1: the body only)."""

    timestamp: int
    covers_context: bool


def verified_signature(
    secret: str, header: str | None, body: bytes, headers: Mapping[str, str]
) -> Signature | None:
    """The signature if it is valid for this body (v2: and these context headers), else
    None. A header with v2 is judged by v2 alone: dropping v2 leaves no v1 to fall back on
    unless the sender kept one, and a v1 covers nothing but the body anyway."""
    if not header or len(header) > 512:
        return None
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    timestamp = parts.get("t", "")
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        return None
    if "v2" in parts:
        context = [headers.get(name.lower()) for name in SIGNED_CONTEXT_HEADERS]
        expected = _context_signature(secret, timestamp, context, body)
        valid = hmac.compare_digest(expected.encode(), parts["v2"].encode())
        return Signature(int(timestamp), covers_context=True) if valid else None
    given = parts.get("v1", "")
    if given and hmac.compare_digest(_signature(secret, timestamp, body).encode(), given.encode()):
        return Signature(int(timestamp), covers_context=False)
    return None


def signature_is_valid(secret: str, header: str | None, body: bytes) -> bool:
    """Whether a v1 signature is valid for this body (what the API signs at creation)."""
    found = verified_signature(secret, header, body, {})
    return found is not None and not found.covers_context


def parse_scheduled_time(text: str) -> datetime | None:
    """An ISO 8601 time with its zone (EventBridge's `2030-01-01T09:00:00Z`) that UTC can
    hold (the ledger keys it in UTC), else None."""
    if len(text) > 64:
        return None
    try:
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            return None
        parsed.astimezone(UTC)  # year 1 east of UTC, 9999 west: no such time in UTC
    except (ValueError, OverflowError):
        return None
    return parsed


class RunStatus(StrEnum):
    """How one execution (a task at one scheduled time) stands, on either backend."""

    PENDING = "PENDING"  # due, waiting for the local engine to start it
    RUNNING = "RUNNING"  # an attempt is running
    RETRYING = "RETRYING"  # the last attempt raised; another attempt will follow
    SUCCEEDED = "SUCCEEDED"  # the action returned
    FAILED = "FAILED"  # refused with a 4xx (unknown action, bad body): never retried
    DEAD_LETTERED = "DEAD_LETTERED"  # raised on its last attempt; kept as a dead letter
    SKIPPED = "SKIPPED"  # not run, by the schedule's policy: too late, or still running

    @property
    def finished(self) -> bool:
        return self in (
            RunStatus.SUCCEEDED,
            RunStatus.FAILED,
            RunStatus.DEAD_LETTERED,
            RunStatus.SKIPPED,
        )


# Words an older ledger wrote, read as today's.
_LEGACY_STATUS = {"IN_PROGRESS": RunStatus.RUNNING}


def run_status(text: str) -> RunStatus:
    return _LEGACY_STATUS.get(text) or RunStatus(text)


@dataclass(frozen=True)
class LedgerRecord:
    """One execution in the worker's ledger, keyed (task_id, scheduled_time)."""

    task_id: str
    scheduled_time: str
    status: RunStatus
    token: str  # who holds it: only the holder may finish it
    attempt: int  # the delivery's X-Scheduler-Attempt
    attempts: int  # how many deliveries claimed it
    started_at: float
    expires_at: int  # TTL, epoch seconds
    execution_id: str | None = None
    schedule_arn: str | None = None
    finished_at: float | None = None
    result: str | None = None  # JSON
    error: str | None = None  # the action's exception class, or "callback answered 4xx"
    status_code: int | None = None  # what the worker's callback answered

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> LedgerRecord:
        """From a stored row or item, whose numbers may come back as Decimal or text."""
        fields: dict[str, Any] = dict(values)
        for name in ("attempt", "attempts", "expires_at", "status_code"):
            if fields.get(name) is not None:
                fields[name] = int(fields[name])
        for name in ("started_at", "finished_at"):
            if fields.get(name) is not None:
                fields[name] = float(fields[name])
        fields["status"] = run_status(str(fields["status"]))
        known: dict[str, Any] = {name: fields.get(name) for name in LEDGER_FIELDS}
        return cls(**known)

    def result_data(self) -> dict[str, Any] | None:
        loaded = json.loads(self.result) if self.result else None
        return loaded if isinstance(loaded, dict) else None


LEDGER_FIELDS = tuple(LedgerRecord.__dataclass_fields__)


class TaskFailedError(RuntimeError):
    """The worker's callback answered 5xx: its Lambda handler raises this so that Lambda
    retries the invocation. `error_type` is the action's exception class, from the body."""

    def __init__(self, status_code: int, body: str) -> None:
        super().__init__(f"task callback answered {status_code}: {body[:1000]}")
        self.status_code = status_code
        self.body = body
        self.error_type = _error_type(body)


def _error_type(body: str) -> str | None:
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    error = parsed.get("error") if isinstance(parsed, dict) else None
    return error if isinstance(error, str) and error.isidentifier() else None


MAX_REASON_LENGTH = 300


def refusal_error(status_code: int, detail: str | None) -> str:
    """A run's `error` when the worker refused it (4xx): the status and the worker's reason,
    written alike by the worker's ledger (AWS) and the local engine (from the answer)."""
    text = f"callback answered {status_code}"
    if not detail:
        return text
    reason = detail if len(detail) <= MAX_REASON_LENGTH else detail[: MAX_REASON_LENGTH - 1] + "…"
    return f"{text}: {reason}"


def answer_detail(body: str) -> str | None:
    """The reason in the worker's JSON answer: its `detail` text, or, for a body that failed
    validation (FastAPI's list of errors), each field and its message."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    detail = parsed.get("detail") if isinstance(parsed, dict) else None
    if isinstance(detail, str):
        return detail
    if not isinstance(detail, list):
        return None
    messages = []
    for error in detail:
        if isinstance(error, dict) and isinstance(error.get("msg"), str):
            where = ".".join(str(part) for part in error.get("loc") or [])
            messages.append(f"{where}: {error['msg']}" if where else error["msg"])
    return "; ".join(messages) or None


LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("text", "json")


def default_log_format(environ: Mapping[str, str], stderr_is_terminal: bool) -> LogFormat:
    """LOG_FORMAT when unset, in both services: JSON on Lambda (which sets
    AWS_LAMBDA_FUNCTION_NAME) and wherever stderr is no terminal (a file, a pipe, a log
    collector); text, tracebacks on their own lines, where a person watches a terminal."""
    if environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        return "json"
    return "text" if stderr_is_terminal else "json"


def stderr_is_terminal() -> bool:
    stream = sys.stderr
    try:
        return stream is not None and stream.isatty()
    except ValueError:  # closed
        return False
