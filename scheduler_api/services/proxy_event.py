"""The schedule's target Input: an API Gateway REST (v1) proxy event that Mangum accepts.

EventBridge Scheduler replaces the `<aws.scheduler.*>` context attributes in the Input
text at every invocation; the worker reads them back as X-Scheduler-* headers.
"""

from __future__ import annotations

import json
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]

CONTEXT_HEADERS = {
    "X-Scheduler-Schedule-Arn": "<aws.scheduler.schedule-arn>",
    "X-Scheduler-Scheduled-Time": "<aws.scheduler.scheduled-time>",
    "X-Scheduler-Execution-Id": "<aws.scheduler.execution-id>",
    "X-Scheduler-Attempt": "<aws.scheduler.attempt-number>",
}
_DEFAULT_HEADERS = {
    "Content-Type": "application/json; charset=utf-8",
    "Accept": "application/json",
}


def build_proxy_event(
    path: str,
    method: HttpMethod,
    body: dict[str, Any] | None = None,
    query_params: dict[str, str | list[str]] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
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
            "requestId": CONTEXT_HEADERS["X-Scheduler-Execution-Id"],
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
        "<aws.scheduler.schedule-arn>": schedule_arn,
        "<aws.scheduler.scheduled-time>": scheduled_time,
        "<aws.scheduler.execution-id>": execution_id,
        "<aws.scheduler.attempt-number>": str(attempt),
    }
    for placeholder, value in values.items():
        input_text = input_text.replace(placeholder, value)
    return input_text
