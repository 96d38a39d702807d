"""Inject AWS answers below boto3's retry logic, through botocore's before-send event.

Used without moto: moto answers through the same event and would act on the request
even when an injected error is what the client sees.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from botocore.awsrequest import AWSResponse, HTTPHeaders


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def _headers(**values: str) -> HTTPHeaders:
    headers = HTTPHeaders()
    for name, value in values.items():
        headers[name.replace("_", "-")] = value
    return headers


def aws_error(status: int, code: str, message: str) -> AWSResponse:
    headers = _headers(x_amzn_ErrorType=code, Content_Type="application/json")
    body = json.dumps({"message": message}).encode()
    return AWSResponse("https://scheduler.amazonaws.com", status, headers, _Raw(body))


def aws_ok(payload: dict[str, Any]) -> AWSResponse:
    headers = _headers(Content_Type="application/json")
    body = json.dumps(payload).encode()
    return AWSResponse("https://scheduler.amazonaws.com", 200, headers, _Raw(body))


class SendRecorder:
    """Records every HTTP request boto3 sends; answers from `responses` while it has any."""

    def __init__(self, responses: list[AWSResponse] | None = None) -> None:
        self.operations: list[str] = []
        self.responses = list(responses or [])
        self.before_answer: Callable[[], object] | None = None

    def __call__(self, request: Any, event_name: str, **_: Any) -> AWSResponse | None:
        self.operations.append(event_name.rsplit(".", 1)[-1])
        if self.before_answer:
            self.before_answer()
        return self.responses.pop(0) if self.responses else None


def aws_query_error(status: int, code: str, message: str) -> AWSResponse:
    """An error as query-protocol services (IAM, STS) send it: XML."""
    body = (
        "<ErrorResponse><Error><Type>Sender</Type>"
        f"<Code>{code}</Code><Message>{message}</Message></Error>"
        "<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
    ).encode()
    headers = _headers(Content_Type="text/xml")
    return AWSResponse("https://iam.amazonaws.com", status, headers, _Raw(body))


def hook(events: Any, event_name: str, recorder: SendRecorder) -> SendRecorder:
    """Register a recorder on a client's or session's events (botocore types handlers as
    returning None, but before-send handlers may return a response)."""
    events.register(event_name, recorder)
    return recorder


def aws_json_error(status: int, code: str, message: str) -> AWSResponse:
    """An error as JSON-protocol services (DynamoDB) send it: the code in `__type`."""
    headers = _headers(Content_Type="application/x-amz-json-1.0")
    body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message})
    return AWSResponse("https://dynamodb.amazonaws.com", status, headers, _Raw(body.encode()))
