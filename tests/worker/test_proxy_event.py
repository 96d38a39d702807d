"""generate_lambda_proxy_payload: the event shape, and what Mangum makes of it."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request
from mangum import Mangum

from lambda_worker.handler import REQUIRED_EVENT_KEYS
from task_contract import ProxyEvent, ProxyRequestContext, build_proxy_event

echo = FastAPI()


@echo.api_route("/echo/{rest:path}", methods=["GET", "POST", "DELETE"])
async def echo_request(request: Request, rest: str) -> dict[str, Any]:
    return {
        "method": request.method,
        "path": request.url.path,
        "query": sorted(request.query_params.multi_items()),
        "headers": {k: v for k, v in request.headers.items() if k.startswith("x-")},
        "body": (await request.body()).decode(),
    }


def through_mangum(event: ProxyEvent) -> dict[str, Any]:
    no_context: Any = {}
    response = Mangum(echo, lifespan="off")(json.loads(json.dumps(event)), no_context)
    assert response["statusCode"] == 200
    body: dict[str, Any] = json.loads(response["body"])
    return body


def test_post_with_body_query_and_headers() -> None:
    event = build_proxy_event(
        "api/echo/a?x=1&x=2",
        "POST",
        body={"k": "v"},
        query_params={"y": "3", "z": ["4", "5"]},
        headers={"X-Custom": "yes"},
    )
    assert event["body"] == '{"k": "v"}'
    assert event["multiValueQueryStringParameters"] == {
        "x": ["1", "2"],
        "y": ["3"],
        "z": ["4", "5"],
    }
    assert event["pathParameters"] == {"proxy": "api/echo/a"}
    seen = through_mangum({**event, "path": "/echo/a"})
    assert seen["method"] == "POST"
    assert seen["query"] == [["x", "1"], ["x", "2"], ["y", "3"], ["z", "4"], ["z", "5"]]
    assert seen["headers"]["x-custom"] == "yes"
    assert seen["headers"]["x-scheduler-attempt"] == "<aws.scheduler.attempt-number>"
    assert json.loads(seen["body"]) == {"k": "v"}


def test_get_has_no_body_and_paths_are_normalised() -> None:
    for path in ("echo/b", "/echo/b", "/echo/b/"):
        event = build_proxy_event(path, "GET", body={"ignored": True})
        assert event["path"] == "/echo/b"
        assert event["body"] is None
        assert event["queryStringParameters"] is None
        assert through_mangum(event) == {
            "method": "GET",
            "path": "/echo/b",
            "query": [],
            "headers": {
                "x-scheduler-schedule-arn": "<aws.scheduler.schedule-arn>",
                "x-scheduler-scheduled-time": "<aws.scheduler.scheduled-time>",
                "x-scheduler-execution-id": "<aws.scheduler.execution-id>",
                "x-scheduler-attempt": "<aws.scheduler.attempt-number>",
            },
            "body": "",
        }


def test_a_built_event_has_every_key_the_typed_dict_names() -> None:
    for method in ("GET", "POST"):
        event = build_proxy_event("api/echo/a?x=1", method, body={"k": "v"})
        assert set(event) == ProxyEvent.__required_keys__ | ProxyEvent.__optional_keys__
        assert set(event["requestContext"]) == ProxyRequestContext.__optional_keys__


def test_the_keys_the_handler_insists_on_are_the_typed_dicts_required_ones() -> None:
    assert ProxyEvent.__required_keys__ == set(REQUIRED_EVENT_KEYS)
